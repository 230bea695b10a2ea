import { ErgonError } from './ergon-error.js';

/** A non-streaming consume loop ran past `loop.timeout`; in-flight work was cancelled and released. */
export class LoopTimeoutError extends ErgonError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`consume loop timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
