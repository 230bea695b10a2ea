import { ErgonError } from '../core/errors.js';

/**
 * A worker process lost its IPC channel to the primary in the middle of its run (the
 * primary was killed, or the channel was closed). The worker stops the way SIGTERM stops it
 * (in-flight work drains within the grace, the rest is released, the exit hook and closes
 * run) and exits with code 1, so that a primary still alive restarts it.
 */
export class PrimaryLostError extends ErgonError {
  readonly workerId: number;
  constructor(workerId: number) {
    super(
      `worker ${workerId} lost its channel to the primary process (killed, or the channel ` +
        'closed); stopping: in-flight work drains, the rest is released, then exit code 1',
    );
    this.workerId = workerId;
  }
}
