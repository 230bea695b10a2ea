import { ErgonError } from '../../core/errors.js';

/**
 * A call was made to a {@link ThreadPool} after `close()`, or was still queued or running
 * when the pool closed.
 */
export class ThreadPoolClosedError extends ErgonError {
  constructor() {
    super('thread pool is closed');
  }
}
