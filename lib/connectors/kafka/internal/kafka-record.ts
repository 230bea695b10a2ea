import type { Message, MessageToProduce } from '@platformatic/kafka';
import type { TransactionError } from '../../../core/errors.js';
import { jsonCodec, PayloadDecodeError, type PayloadCodec } from '../../../core/payload-codec.js';
import { describeError, describeErrorType } from '../../../core/renderers.js';
import { traceHeaders, traceMetadata } from '../../../core/trace-headers.js';
import { transactionKey } from '../../../core/transaction-key.js';
import { markUndecodable, type Transaction } from '../../../core/transaction.js';

/** A record as the connector reads it: bytes for key, value and headers. */
export type KafkaMessage = Message;
/** A record as the connector writes it. */
export type KafkaRecordToProduce = MessageToProduce;

/**
 * The header holding the transaction id. Reserved: a fetch turns it into the transaction's
 * `id` and leaves it out of `metadata.headers`.
 */
const idHeader = 'ergon-id';
const contentTypeHeader = 'content-type';

/** Where a fetched record came from, for its transaction's metadata. */
export interface RecordSource {
  readonly group: string;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The (frozen) transaction for a fetched record: id from the `ergon-id` header (else
 * `<topic>-<partition>@<offset>`), payload decoded from the value, `metadata.key` from the
 * record key, trace context from the headers. A value that is missing (a tombstone) or that
 * `codec` cannot decode yields a transaction marked undecodable whose payload is the raw value.
 */
export function recordTransaction<P>(
  message: KafkaMessage,
  source: RecordSource,
  deliveries: number,
  codec: PayloadCodec<P>,
): Transaction<P> {
  let id: string | undefined;
  let headers: Record<string, string> | undefined;
  // Most records carry no header: skip the Map iterator then.
  if (message.headers.size > 0) {
    for (const [name, value] of message.headers) {
      const header = name.toString('utf8');
      if (header === idHeader) id = value.toString('utf8');
      else (headers ??= {})[header] = value.toString('utf8');
    }
  }
  const { topic, partition } = message;
  const offset = message.offset.toString();
  const metadata: Record<string, unknown> = {
    topic,
    partition,
    offset,
    timestamp: Number(message.timestamp),
    group: source.group,
    deliveries,
    redelivered: deliveries > 1,
    headers: headers ?? noHeaders,
  };
  if (headers !== undefined) Object.assign(metadata, traceMetadata(headers));
  const key = message.key as Buffer | undefined | null;
  if (key !== undefined && key !== null && key.length > 0) metadata['key'] = key.toString('utf8');
  Object.freeze(metadata);
  const transactionId = id === undefined || id === '' ? `${topic}-${partition}@${offset}` : id;
  const value = message.value as Buffer | undefined | null;
  if (value === undefined || value === null) {
    return markUndecodable(
      Object.freeze({ id: transactionId, payload: undefined as P, metadata }),
      new PayloadDecodeError(
        `record ${topic}-${partition}@${offset} has no value (a tombstone): nothing to decode`,
      ),
    );
  }
  let payload: P;
  try {
    payload = codec.decode(value);
  } catch (error) {
    return markUndecodable(
      Object.freeze({ id: transactionId, payload: value as P, metadata }),
      error,
    );
  }
  return Object.freeze({ id: transactionId, payload, metadata });
}

/**
 * The record a transaction is dispatched as: value = the payload encoded by `codec`, key =
 * `metadata.key` (so the default partitioner keeps one key on one partition, in order),
 * headers `ergon-id`, `content-type` and the W3C trace context.
 *
 * @throws whatever `codec.encode` throws for a payload it cannot encode.
 */
export function transactionRecord<P>(
  transaction: Transaction<P>,
  topic: string,
  codec: PayloadCodec<P>,
): KafkaRecordToProduce {
  const headers = new Map<Buffer, Buffer>([
    [Buffer.from(idHeader), Buffer.from(transaction.id)],
    [Buffer.from(contentTypeHeader), Buffer.from(codec.contentType)],
  ]);
  for (const [name, value] of Object.entries(traceHeaders(transaction))) {
    headers.set(Buffer.from(name), Buffer.from(value));
  }
  const record: KafkaRecordToProduce = { topic, value: encodedValue(transaction, codec), headers };
  const key = transactionKey(transaction);
  if (key !== undefined) record.key = Buffer.from(key);
  return record;
}

function encodedValue<P>(transaction: Transaction<P>, codec: PayloadCodec<P>): Buffer {
  if (codec === jsonCodec) {
    const text = JSON.stringify(transaction.payload);
    if (text === undefined) {
      throw new PayloadDecodeError(`cannot encode ${typeof transaction.payload} as JSON`);
    }
    return Buffer.from(text);
  }
  const body = codec.encode(transaction.payload);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const longestValue = 1024;

function headerLine(text: string): Buffer {
  const line = text.replace(/[\r\n]+/g, ' ');
  return Buffer.from(line.length > longestValue ? `${line.slice(0, longestValue - 1)}…` : line);
}

/**
 * The dead-letter copy of a fetched record: same key, value and headers, plus
 *
 * | header | value |
 * |---|---|
 * | `ergon-error` | the error, one line |
 * | `ergon-error-type` | the type of the error's cause |
 * | `ergon-error-category`, `ergon-error-stage` | of the {@link TransactionError} |
 * | `ergon-id` | the transaction id |
 * | `ergon-source-topic`, `ergon-source-partition`, `ergon-source-offset` | where it was |
 * | `ergon-group` | the consumer group that gave up on it |
 * | `ergon-dead-lettered-at` | ISO time |
 */
export function deadLetterRecord(
  message: KafkaMessage,
  transactionId: string,
  error: TransactionError,
  deadLetterTopic: string,
  group: string,
): KafkaRecordToProduce {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of message.headers) {
    if (!name.toString('utf8').startsWith('ergon-')) headers.set(name, value);
  }
  const set = (name: string, value: Buffer): void => void headers.set(Buffer.from(name), value);
  set(idHeader, Buffer.from(transactionId));
  set('ergon-error', headerLine(error.message || describeError(error)));
  set('ergon-error-type', headerLine(describeErrorType(error)));
  set('ergon-error-category', Buffer.from(error.category));
  if (error.stage !== undefined) set('ergon-error-stage', Buffer.from(error.stage));
  set('ergon-source-topic', Buffer.from(message.topic));
  set('ergon-source-partition', Buffer.from(String(message.partition)));
  set('ergon-source-offset', Buffer.from(message.offset.toString()));
  set('ergon-group', Buffer.from(group));
  set('ergon-dead-lettered-at', Buffer.from(new Date().toISOString()));
  const record: KafkaRecordToProduce = { topic: deadLetterTopic, headers };
  const key = message.key as Buffer | undefined | null;
  if (key !== undefined && key !== null) record.key = key;
  const value = message.value as Buffer | undefined | null;
  if (value !== undefined && value !== null) record.value = value;
  return record;
}
