import { ErgonError } from '../../core/errors.js';

/**
 * The broker could not be reached or refused the connection. `permanent` is `true` when
 * retrying cannot help without a change (wrong credentials, unknown vhost); a
 * {@link RabbitmqService} keeps reconnecting otherwise.
 */
export class RabbitmqConnectionError extends ErgonError {
  readonly permanent: boolean;
  constructor(message: string, options: { cause?: unknown; permanent?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent ?? false;
  }
}

/**
 * A message could not be dead-lettered (the copy to the dead-letter exchange was not
 * confirmed). The connector put the message back in its queue instead, so nothing is lost;
 * the outcome carries this error as its `settleError`.
 */
export class RabbitmqDeadLetterError extends ErgonError {}

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

/**
 * Declaring (or checking) the configured queues, exchanges or bindings failed: typically an
 * existing queue with different arguments (`PRECONDITION_FAILED`, e.g. a classic queue where
 * the config says `quorum`), or a queue that does not exist with `declare: false`. Retrying
 * cannot help until the config or the broker changes.
 */
export class RabbitmqTopologyError extends ErgonError {}

/**
 * The reason recorded on a message the connector dead-lettered without processing it because
 * the broker had delivered it more than `maxDeliveries` times (a poison message). Quorum
 * queues declared by the connector dead-letter such messages in the broker before they are
 * delivered again; this covers queues declared elsewhere.
 */
export class MaxDeliveriesExceededError extends ErgonError {
  readonly deliveries: number;
  constructor(deliveries: number, maxDeliveries: number) {
    super(`delivered ${deliveries} times, more than maxDeliveries (${maxDeliveries})`);
    this.deliveries = deliveries;
  }
}
