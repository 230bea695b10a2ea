import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A consumer name no other process uses: `<host>-<pid>-<6 random hex digits>`.
 *
 * @example
 * ```ts
 * defaultConsumerName(); // 'worker-7-4211-9f03c2'
 * ```
 */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
