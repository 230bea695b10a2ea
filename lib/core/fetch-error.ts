import { describeError } from './describe-error.js';
import { ErgonError } from './ergon-error.js';

/** A connector's fetch kept failing after every attempt of `fetch.retry`; the loop stops. */
export class FetchError extends ErgonError {
  /** `true` when the last attempt failed by timing out. */
  readonly timedOut: boolean;
  constructor(cause: unknown, timedOut: boolean) {
    super(`fetch failed${timedOut ? ' (timed out)' : ''}: ${describeError(cause)}`, { cause });
    this.timedOut = timedOut;
  }
}
