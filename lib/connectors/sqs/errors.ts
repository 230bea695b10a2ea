import { ErgonError } from '../../core/errors.js';

/**
 * SQS refused one message of a `SendMessageBatch` (its entry failed): `code` is SQS's error
 * code (`InvalidParameterValue`, `InvalidMessageContents`…), `senderFault` whether the
 * message itself is at fault (retrying the same message will fail again).
 *
 * @example
 * ```ts
 * receipt.failed.filter(({ error }) => error instanceof SqsSendError && error.senderFault);
 * ```
 */
export class SqsSendError extends ErgonError {
  constructor(
    readonly code: string,
    readonly senderFault: boolean,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A payload the codec encoded into bytes that are not UTF-8 text: SQS message bodies are
 * text. Use a codec that produces text (JSON, or base64 of binary data).
 */
export class SqsBodyError extends ErgonError {}

/**
 * The queue (or its dead-letter queue) does not exist and `create` is off, or it exists with
 * attributes that differ from the config (`QueueAlreadyExists`). The message names the queue
 * and what to do.
 */
export class SqsQueueError extends ErgonError {}
