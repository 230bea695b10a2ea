import { ErgonError } from '../../core/errors.js';

/**
 * Why the broker did not take a published message: `unroutable` (returned because no queue is
 * bound for its routing key; every publish is `mandatory`), `nacked` (the broker refused it,
 * e.g. a full queue with `reject-publish` overflow) or `channelClosed` (the channel or
 * connection died before the confirm arrived: the message may or may not have been taken).
 */
export type RabbitmqPublishFailure = 'unroutable' | 'nacked' | 'channelClosed';

/** A publish that was not confirmed; `dispatch` reports it per transaction. */
export class RabbitmqPublishError extends ErgonError {
  readonly reason: RabbitmqPublishFailure;
  constructor(reason: RabbitmqPublishFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
