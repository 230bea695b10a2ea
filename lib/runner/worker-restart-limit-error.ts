import { ErgonError } from '../core/errors.js';

/**
 * A worker process died unexpectedly more often than `supervision.restart.maxRestarts`
 * allows: the primary stops the other workers and `runTask` resolves exit code 1.
 *
 * @example
 * ```ts
 * log.error(new WorkerRestartLimitError(2, 5, 'exit code 1').message);
 * ```
 */
export class WorkerRestartLimitError extends ErgonError {
  readonly workerId: number;
  readonly restarts: number;
  constructor(workerId: number, restarts: number, lastExit: string) {
    super(`worker ${workerId} failed for good after ${restarts} restarts (last: ${lastExit})`);
    this.workerId = workerId;
    this.restarts = restarts;
  }
}
