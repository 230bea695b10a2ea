import type {
  Message,
  MessageAttributeValue,
  SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { PayloadCodec } from '../../../core/payload-codec.js';
import { describeError } from '../../../core/renderers.js';
import type { TransactionError } from '../../../core/errors.js';
import { traceHeaders, traceMetadata } from '../../../core/trace-headers.js';
import { transactionKey } from '../../../core/transaction-key.js';
import { createTransaction, markUndecodable, type Transaction } from '../../../core/transaction.js';
import { SqsBodyError } from '../errors.js';

/** Message attributes this connector reads and writes (SQS allows 10 per message). */
const attributeNames = {
  id: 'ergon-id',
  key: 'ergon-key',
  error: 'ergon-error',
  errorCategory: 'ergon-error-category',
  errorStage: 'ergon-error-stage',
  sourceQueue: 'ergon-source-queue',
  sourceMessageId: 'ergon-source-message-id',
  receiveCount: 'ergon-receive-count',
} as const;

/** SQS's limit of message attributes per message. */
const maxAttributes = 10;
/** The longest error text put in a dead letter's attributes. */
const maxErrorText = 4096;

/**
 * The metadata of a transaction fetched from SQS (a `Transaction`'s metadata is a plain
 * record: read it as this type).
 *
 * @example
 * ```ts
 * const { messageId, receiveCount } = tx.metadata as unknown as SqsTransactionMetadata;
 * ```
 */
export interface SqsTransactionMetadata {
  /** The queue's URL. */
  readonly queue: string;
  /** SQS's id of the message (the transaction id is `ergon-id` when the producer set it). */
  readonly messageId: string;
  /** Receives of this message so far, this one included (`ApproximateReceiveCount`). */
  readonly receiveCount: number;
  /** `receiveCount > 1`. */
  readonly redelivered: boolean;
  /** When SQS took the message (ms since the epoch). */
  readonly sentAt?: number;
  /** The FIFO message group, for FIFO queues. */
  readonly groupId?: string;
  /** Every string message attribute, trace context and `ergon-*` attributes included. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * The ordering key: the producer's `metadata.key` (attribute `ergon-key`); for a message
   * another producer sent (no `ergon-id`), its FIFO message group; absent otherwise (the group
   * `dispatch` gives a keyless transaction is its id, not a key).
   */
  readonly key?: string;
}

/** What the connector keeps of a received message until its transaction is settled. */
export interface Delivery {
  readonly receiptHandle: string;
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly groupId: string | undefined;
  readonly receiveCount: number;
  /** When this connector received it (ms since the epoch): SQS hides it at most 12 h from then. */
  readonly receivedAt: number;
}

const textEncoder = new TextEncoder();
const strictText = new TextDecoder('utf-8', { fatal: true });

function stringAttributes(
  attributes: Readonly<Record<string, MessageAttributeValue>>,
): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value.StringValue === 'string') strings[name] = value.StringValue;
  }
  return strings;
}

/** The delivery of a received message, or `undefined` for one without a receipt handle. */
export function deliveryOf(message: Message): Delivery | undefined {
  if (message.ReceiptHandle === undefined || message.MessageId === undefined) return undefined;
  const system = message.Attributes ?? {};
  return {
    receiptHandle: message.ReceiptHandle,
    messageId: message.MessageId,
    body: message.Body ?? '',
    attributes: message.MessageAttributes ?? {},
    groupId: system.MessageGroupId,
    receiveCount: Number(system.ApproximateReceiveCount ?? 1),
    receivedAt: Date.now(),
  };
}

/** The transaction of a received message: undecodable bodies are marked (stage `decode`). */
export function deliveryTransaction<P>(
  delivery: Delivery,
  message: Message,
  queueUrl: string,
  codec: PayloadCodec<P>,
): Transaction<P> {
  const attributes = stringAttributes(delivery.attributes);
  const sent = Number(message.Attributes?.SentTimestamp);
  const key =
    attributes[attributeNames.key] ??
    (attributes[attributeNames.id] === undefined ? delivery.groupId : undefined);
  const metadata: Record<string, unknown> = {
    queue: queueUrl,
    messageId: delivery.messageId,
    receiveCount: delivery.receiveCount,
    redelivered: delivery.receiveCount > 1,
    attributes,
    ...traceMetadata(attributes),
  };
  if (Number.isFinite(sent)) metadata['sentAt'] = sent;
  if (delivery.groupId !== undefined) metadata['groupId'] = delivery.groupId;
  if (key !== undefined && key !== '') metadata['key'] = key;
  const id = attributes[attributeNames.id] ?? delivery.messageId;
  let payload: P;
  try {
    payload = codec.decode(textEncoder.encode(delivery.body));
  } catch (error) {
    return markUndecodable(createTransaction(delivery.body as P, { id, metadata }), error);
  }
  return createTransaction(payload, { id, metadata });
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/** The body of `transaction` as text, or a {@link SqsBodyError}/codec error. */
function bodyOf<P>(transaction: Transaction<P>, codec: PayloadCodec<P>): string {
  const bytes = codec.encode(transaction.payload);
  try {
    return strictText.decode(bytes);
  } catch (error) {
    throw new SqsBodyError(
      `the codec (${codec.contentType}) encoded transaction ${transaction.id} into bytes that are not UTF-8 text; SQS bodies are text: use a codec that produces text (JSON, or base64 of binary data)`,
      { cause: error },
    );
  }
}

/** What the outbound attributes of one transaction are: id, key and trace context. */
function outboundAttributes(transaction: Transaction): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    [attributeNames.id]: text(transaction.id),
  };
  const key = transactionKey(transaction);
  if (key !== undefined) attributes[attributeNames.key] = text(key);
  for (const [name, value] of Object.entries(traceHeaders(transaction))) {
    attributes[name] = text(value);
  }
  return attributes;
}

/** Options of {@link sendEntry}. */
export interface SendOptions {
  readonly fifo: boolean;
  /** Delay in seconds (standard queues only). */
  readonly delaySeconds: number;
}

/**
 * The `SendMessageBatch` entry of a transaction: body from the codec, attributes `ergon-id`,
 * `ergon-key` and the trace context; on a FIFO queue MessageGroupId = `metadata.key` (the
 * transaction id without one) and MessageDeduplicationId = the transaction id.
 */
export function sendEntry<P>(
  transaction: Transaction<P>,
  entryId: string,
  codec: PayloadCodec<P>,
  options: SendOptions,
): SendMessageBatchRequestEntry {
  const entry: SendMessageBatchRequestEntry = {
    Id: entryId,
    MessageBody: bodyOf(transaction, codec),
    MessageAttributes: outboundAttributes(transaction),
  };
  if (options.fifo) {
    entry.MessageGroupId = transactionKey(transaction) ?? transaction.id;
    entry.MessageDeduplicationId = transaction.id;
  } else if (options.delaySeconds > 0) {
    entry.DelaySeconds = options.delaySeconds;
  }
  return entry;
}

/** The size SQS counts for a message: body plus attribute names, types and values. */
export function entrySize(entry: SendMessageBatchRequestEntry): number {
  let size = Buffer.byteLength(entry.MessageBody ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    size += Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/**
 * The attributes of a dead letter: the error (text, category, stage), the source queue and
 * message id, the receive count, then the message's own attributes as far as SQS's limit of
 * 10 allows (the ergon id, key and trace context first).
 */
export function deadLetterAttributes(
  delivery: Delivery,
  error: TransactionError,
  queueUrl: string,
): Record<string, MessageAttributeValue> {
  const description = describeError(error);
  const attributes: Record<string, MessageAttributeValue> = {
    [attributeNames.error]: text(
      description.length > maxErrorText
        ? `${description.slice(0, maxErrorText - 3)}...`
        : description,
    ),
    [attributeNames.errorCategory]: text(error.category),
    [attributeNames.sourceQueue]: text(queueUrl),
    [attributeNames.sourceMessageId]: text(delivery.messageId),
    [attributeNames.receiveCount]: {
      DataType: 'Number',
      StringValue: String(delivery.receiveCount),
    },
  };
  if (error.stage !== undefined) attributes[attributeNames.errorStage] = text(error.stage);
  const own = Object.entries(delivery.attributes).filter(([name]) => !(name in attributes));
  const preferred = new Set<string>([
    attributeNames.id,
    attributeNames.key,
    'traceparent',
    'tracestate',
  ]);
  own.sort(([a], [b]) => Number(preferred.has(b)) - Number(preferred.has(a)));
  for (const [name, value] of own) {
    if (Object.keys(attributes).length >= maxAttributes) break;
    attributes[name] = value;
  }
  return attributes;
}
