import { map, type OperatorFunction } from 'rxjs';
import type { Outcome } from '../core/outcome.js';

/**
 * Maps each outcome to `"<transaction id>:<status>"` (plus `:<reason>` for released ones),
 * so marble expectations stay short: `{ a: 'a:success', b: 'b:released:shutdown' }`.
 *
 * ```
 * outcomes:  --a---b--|        (a succeeds, b released on shutdown)
 * summarize: --x---y--|        x = 'a:success', y = 'b:released:shutdown'
 * ```
 *
 * @example
 * ```ts
 * expectObservable(consume(connector, task).pipe(summarize())).toBe('--x|', { x: 'a:success' });
 * ```
 */
export function summarize<P, R>(): OperatorFunction<Outcome<P, R>, string> {
  return map((outcome) =>
    outcome.status === 'released'
      ? `${outcome.transaction.id}:released:${outcome.reason}`
      : `${outcome.transaction.id}:${outcome.status}`,
  );
}
