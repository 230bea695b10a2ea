import { jsonCodec, PayloadDecodeError, type PayloadCodec } from '../../../core/payload-codec.js';
import { traceHeaders, traceMetadata } from '../../../core/trace-headers.js';
import { transactionKey } from '../../../core/transaction-key.js';
import { markUndecodable, type Transaction } from '../../../core/transaction.js';
import { describeValue } from '../../../core/renderers.js';
import { UnexpectedReplyError } from '../errors.js';

/**
 * One stream entry as read from Redis: its id, its raw field/value list and delivery count.
 *
 * @example
 * ```ts
 * const entry: StreamEntry = { entryId: '1-0', fields: [Buffer.from('body'), Buffer.from('{}')], deliveries: 1 };
 * ```
 */
export interface StreamEntry {
  /** The stream entry id, `<ms>-<seq>`. */
  readonly entryId: string;
  /** Field names and values, alternating, as bytes. */
  readonly fields: readonly Buffer[];
  /** How many times the group delivered it, this delivery included (0 when only looked up). */
  readonly deliveries: number;
}

/** What a claim returned: entries to deliver, where the next claim starts, how many it dead-lettered. */
export interface ClaimedEntries {
  readonly entries: StreamEntry[];
  readonly nextCursor: string;
  readonly deadLettered: number;
}

function unexpected(command: string, reply: unknown): UnexpectedReplyError {
  return new UnexpectedReplyError(`unexpected reply to ${command}: ${describeValue(reply)}`);
}

function isBufferArray(u: unknown): u is Buffer[] {
  return Array.isArray(u) && u.every((item) => Buffer.isBuffer(item));
}

/** `[id, [field, value, …]]` of XRANGE/XREADGROUP; `null` fields (a deleted entry) yield `undefined`. */
function entryOf(command: string, item: unknown, deliveries: number): StreamEntry | undefined {
  if (!Array.isArray(item) || !Buffer.isBuffer(item[0])) throw unexpected(command, item);
  const fields: unknown = item[1];
  if (fields === null) return undefined;
  if (!isBufferArray(fields) || fields.length % 2 !== 0) throw unexpected(command, item);
  return { entryId: item[0].toString('latin1'), fields, deliveries };
}

/** Entries of an `XRANGE`/`XREVRANGE` reply (Buffer mode), with delivery count 0. */
export function rangeEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) throw unexpected('XRANGE', reply);
  const entries: StreamEntry[] = [];
  for (const item of reply) {
    const entry = entryOf('XRANGE', item, 0);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/**
 * Entries of an `XREADGROUP … STREAMS <stream> >` reply (Buffer mode, RESP2): `null` when the
 * block timed out, else `[[stream, [[id, fields], …]]]`. New entries are on their first delivery.
 */
export function readGroupEntries(reply: unknown): StreamEntry[] {
  if (reply === null) return [];
  if (!Array.isArray(reply)) throw unexpected('XREADGROUP', reply);
  const entries: StreamEntry[] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || !Array.isArray(stream[1])) throw unexpected('XREADGROUP', reply);
    for (const item of stream[1] as unknown[]) {
      const entry = entryOf('XREADGROUP', item, 1);
      if (entry !== undefined) entries.push(entry);
    }
  }
  return entries;
}

/** The reply of the claim script: `[cursor, [[id, fields, deliveries], …], deadLettered]`. */
export function claimedEntries(reply: unknown): ClaimedEntries {
  if (
    !Array.isArray(reply) ||
    !Buffer.isBuffer(reply[0]) ||
    !Array.isArray(reply[1]) ||
    typeof reply[2] !== 'number'
  ) {
    throw unexpected('XAUTOCLAIM (claim script)', reply);
  }
  const entries: StreamEntry[] = [];
  for (const item of reply[1] as unknown[]) {
    const deliveries: unknown = Array.isArray(item) ? item[2] : undefined;
    if (typeof deliveries !== 'number') throw unexpected('XAUTOCLAIM (claim script)', item);
    const entry = entryOf('XAUTOCLAIM (claim script)', item, deliveries);
    if (entry !== undefined) entries.push(entry);
  }
  return { entries, nextCursor: reply[0].toString('latin1'), deadLettered: reply[2] };
}

/**
 * The field holding the transaction id, and the one holding the encoded payload. Any other
 * field of an entry is a header.
 *
 * @example
 * ```ts
 * redis.xadd('orders', '*', idField, 'order-42', bodyField, JSON.stringify(order));
 * ```
 */
const idField = 'id';
/** The field holding the encoded payload (see {@link idField}). */
const bodyField = 'body';

/**
 * The field holding the transaction's ordering key (`metadata.key`, see `transactionKey`).
 * Reserved: a fetch turns it into `metadata.key` and leaves it out of `metadata.headers`; a
 * field of any other name (`key` included) is a header like any other.
 */
const keyField = 'ergon-key';

/**
 * The field holding the deliveries an entry had before a retry-later moved it to the delayed
 * set and back (a new entry, whose group delivery count starts again). Reserved like
 * {@link keyField}: a fetch adds it to `metadata.deliveries`.
 */
export const deliveriesField = 'ergon-deliveries';

/** Where a fetched entry came from, for its transaction's metadata. */
export interface EntrySource {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
}

/**
 * The fields of the stream entry a transaction is dispatched as: `id` (the transaction id),
 * `body` (the payload encoded by `codec`), then the W3C trace headers (`traceparent`,
 * `tracestate`) as fields of their own, and {@link keyField} when the transaction has a
 * `metadata.key`.
 *
 * @example
 * ```ts
 * redis.xadd('orders', '*', ...entryFields(transaction, jsonCodec));
 * ```
 * @throws whatever `codec.encode` throws for a payload it cannot encode.
 */
export function entryFields<P>(transaction: Transaction<P>, codec: PayloadCodec<P>): RedisFields {
  const fields: RedisFields = [idField, transaction.id, bodyField, encodedBody(transaction, codec)];
  for (const [name, value] of Object.entries(traceHeaders(transaction))) fields.push(name, value);
  const key = transactionKey(transaction);
  if (key !== undefined) fields.push(keyField, key);
  return fields;
}

/**
 * The body as XADD takes it: JSON as text (ioredis writes strings faster than Buffers, and the
 * bytes are the same UTF-8), any other codec's bytes as a Buffer (no copy).
 */
function encodedBody<P>(transaction: Transaction<P>, codec: PayloadCodec<P>): string | Buffer {
  if (codec === jsonCodec) {
    const text = JSON.stringify(transaction.payload);
    if (text === undefined) {
      throw new PayloadDecodeError(`cannot encode ${typeof transaction.payload} as JSON`);
    }
    return text;
  }
  const body = codec.encode(transaction.payload);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});
const idName = Buffer.from(idField);
const bodyName = Buffer.from(bodyField);
const keyName = Buffer.from(keyField);
const deliveriesName = Buffer.from(deliveriesField);

/** Whether a field name is `name` (compared byte by byte: no string made for the common fields). */
function isNamed(field: Buffer, name: Buffer): boolean {
  if (field.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (field[i] !== name[i]) return false;
  return true;
}

/** A field/value list as XADD takes it. */
export type RedisFields = (string | Buffer)[];

/**
 * The (frozen) transaction for a fetched entry: id from the `id` field (the entry id when
 * there is none), payload decoded from `body`, metadata as in `RedisTransactionMetadata`. A body
 * that is missing or that `codec` cannot decode yields a transaction marked undecodable whose
 * payload is the raw body (a `Buffer`, or `undefined` when missing).
 *
 * @example
 * ```ts
 * const tx = entryTransaction(entry, { stream: 'orders', group: 'ergon', consumer: 'w1' }, jsonCodec);
 * ```
 */
export function entryTransaction<P>(
  entry: StreamEntry,
  source: EntrySource,
  codec: PayloadCodec<P>,
): Transaction<P> {
  let id: string | undefined;
  let body: Buffer | undefined;
  let key: string | undefined;
  let headers: Record<string, string> | undefined;
  let earlier = 0;
  const { fields } = entry;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as Buffer;
    const value = fields[i + 1] as Buffer;
    if (id === undefined && isNamed(name, idName)) id = value.toString('utf8');
    else if (body === undefined && isNamed(name, bodyName)) body = value;
    else if (isNamed(name, keyName)) key ??= value.toString('utf8');
    else if (isNamed(name, deliveriesName)) earlier = Number(value.toString('latin1')) || 0;
    else (headers ??= {})[name.toString('utf8')] = value.toString('utf8');
  }
  const metadata: Record<string, unknown> = {
    stream: source.stream,
    group: source.group,
    consumer: source.consumer,
    entryId: entry.entryId,
    deliveries: earlier + entry.deliveries,
    redelivered: earlier + entry.deliveries > 1,
    headers: headers ?? noHeaders,
  };
  if (headers !== undefined) Object.assign(metadata, traceMetadata(headers));
  if (key !== undefined && key !== '') metadata['key'] = key;
  Object.freeze(metadata);
  const transactionId = id === undefined || id === '' ? entry.entryId : id;
  if (body === undefined) {
    return markUndecodable(
      Object.freeze({ id: transactionId, payload: undefined as P, metadata }),
      new PayloadDecodeError(`stream entry ${entry.entryId} has no "${bodyField}" field`),
    );
  }
  let payload: P;
  try {
    payload = codec.decode(body);
  } catch (error) {
    return markUndecodable(
      Object.freeze({ id: transactionId, payload: body as P, metadata }),
      error,
    );
  }
  return Object.freeze({ id: transactionId, payload, metadata });
}

/**
 * The transaction id an entry stands for: its `id` field, else its entry id.
 *
 * @example
 * ```ts
 * entryTransactionId({ entryId: '1-0', fields: [Buffer.from('id'), Buffer.from('a')], deliveries: 0 }); // 'a'
 * ```
 */
export function entryTransactionId(entry: StreamEntry): string {
  const { fields } = entry;
  for (let i = 0; i < fields.length; i += 2) {
    if (isNamed(fields[i] as Buffer, idName)) {
      const id = (fields[i + 1] as Buffer).toString('utf8');
      return id === '' ? entry.entryId : id;
    }
  }
  return entry.entryId;
}
