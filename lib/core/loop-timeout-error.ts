import { ErgonError } from './ergon-error.js';

/** A consume loop or a produce run ran past `loop.timeout`; unfinished work was cancelled and released. */
export class LoopTimeoutError extends ErgonError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, loop = 'consume loop') {
    super(`${loop} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
