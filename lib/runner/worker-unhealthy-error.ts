import { ErgonError } from '../core/errors.js';

/** Why the primary killed a worker: no heartbeat (`wedged`) or no progress (`stalled`). */
export type WorkerUnhealthyReason = 'wedged' | 'stalled';

/**
 * The primary killed a worker (SIGKILL) because its event loop stopped sending heartbeats
 * for `supervision.wedgedAfter`, or because it had in-flight work and made no progress for
 * `supervision.stalledAfter`. The worker is then replaced like one that died.
 *
 * @example
 * ```ts
 * log.error(new WorkerUnhealthyError(1, 'wedged', 'no heartbeat for 10000 ms').message);
 * ```
 */
export class WorkerUnhealthyError extends ErgonError {
  readonly workerId: number;
  readonly reason: WorkerUnhealthyReason;
  constructor(workerId: number, reason: WorkerUnhealthyReason, detail: string) {
    super(`worker ${workerId} is ${reason} (${detail}); killing it`);
    this.workerId = workerId;
    this.reason = reason;
  }
}
