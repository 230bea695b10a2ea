import { ErgonError } from '../../core/errors.js';

/**
 * A JetStream pull request ended with an error status (the consumer was deleted, too many
 * pull requests wait, JetStream is unavailable, …) rather than with messages or a timeout.
 */
export class NatsPullError extends ErgonError {
  /** The status code the server sent (409, 503, …), or `undefined` for a client-side failure. */
  readonly code: number | undefined;

  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}
