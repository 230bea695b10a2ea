import { ErgonError } from './ergon-error.js';
import type { ReleaseReason } from './settle-decision.js';

/**
 * The abort reason of an attempt cancelled from outside (stop, unsubscribe, loop timeout):
 * `signal.throwIfAborted()` throws it, and `reason` says why.
 */
export class CancellationError extends ErgonError {
  readonly reason: ReleaseReason;
  constructor(reason: ReleaseReason) {
    super(`cancelled: ${reason}`);
    this.reason = reason;
  }
}
