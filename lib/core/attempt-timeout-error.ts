import { ErgonError } from './ergon-error.js';

/** An attempt of a handler ran past its `retry.timeout` and was cancelled. */
export class AttemptTimeoutError extends ErgonError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, what = 'attempt') {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
