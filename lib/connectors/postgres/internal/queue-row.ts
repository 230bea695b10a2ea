import { traceMetadata } from '../../../core/trace-headers.js';
import { markUndecodable, type Transaction } from '../../../core/transaction.js';
import { isPlainObject } from '../../../policy/codecs/structures.js';
import { jsonCodec, PayloadDecodeError, type PayloadCodec } from '../../../core/payload-codec.js';
import type { PayloadColumnType } from '../postgres-connector-config.js';
import type { QueueMetadata } from '../postgres-connector.js';
import type { LeaseKeys } from './queue-statements.js';

/** A queue row as the claim and by-id statements return it. */
export interface QueueRow {
  readonly id: string;
  /** `payload::text` for a `jsonb` column, the bytes for `bytea`. */
  readonly payload: string | Buffer;
  /** The `headers` object; `null` when it is empty. */
  readonly headers: unknown;
  /** How many times the row was handed out, this time included. */
  readonly deliveries: number;
  /** The row's ordering key; `null` when it has none. */
  readonly key: string | null;
  /** `created_at`, whole milliseconds since the epoch. */
  readonly enqueued_at: number;
}

const noHeaders: Readonly<Record<string, unknown>> = Object.freeze({});

/** The row's headers, frozen; the shared empty object when there are none. */
function headersOf(row: QueueRow): Readonly<Record<string, unknown>> {
  return isPlainObject(row.headers) ? Object.freeze(row.headers) : noHeaders;
}

/** The last `enqueued_at` turned into ISO 8601, and that text: the rows of a dispatch share it. */
let lastEnqueuedAt = Number.NaN;
let lastEnqueuedIso = '';

/** `enqueued_at` as ISO 8601. */
function isoTime(epochMs: number): string {
  if (epochMs !== lastEnqueuedAt) {
    lastEnqueuedIso = new Date(epochMs).toISOString();
    lastEnqueuedAt = epochMs;
  }
  return lastEnqueuedIso;
}

/**
 * The transaction of a queue row: frozen like `createTransaction` makes them, built directly
 * (the row is the connector's own object, so nothing needs copying). A payload the codec
 * cannot decode gives a transaction whose payload is the raw column value, marked with
 * `markUndecodable` for the exception handler.
 */
export function rowTransaction<P>(
  row: QueueRow,
  column: PayloadColumn<P>,
  table: string,
): Transaction<P> {
  const headers = headersOf(row);
  const enqueuedAt = isoTime(row.enqueued_at);
  const deliveryCount = row.deliveries;
  const redelivered = deliveryCount > 1;
  const fields: QueueMetadata =
    headers === noHeaders
      ? { table, deliveryCount, redelivered, enqueuedAt, headers }
      : { table, deliveryCount, redelivered, enqueuedAt, headers, ...traceMetadata(headers) };
  // A row without a key keeps the metadata's shape of before: no `key` property at all.
  const metadata = Object.freeze(row.key === null ? fields : { ...fields, key: row.key });
  let payload: P;
  try {
    payload = column.decode(row.payload);
  } catch (error) {
    const raw = row.payload as unknown as P;
    return markUndecodable(Object.freeze({ id: row.id, payload: raw, metadata }), error);
  }
  return Object.freeze({ id: row.id, payload, metadata });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns payloads into values of the queue table's `payload` column and back, through the
 * connector's codec: JSON text for a `jsonb` column (read back as `payload::text`), bytes for
 * `bytea`. With the default {@link jsonCodec} and a `jsonb` column, the text goes straight
 * through `JSON.stringify`/`JSON.parse`, which is what the codec does minus the UTF-8 round trip.
 */
export class PayloadColumn<P> {
  private readonly plainJson: boolean;

  constructor(
    private readonly type: PayloadColumnType,
    private readonly codec: PayloadCodec<P>,
  ) {
    this.plainJson = type === 'jsonb' && (codec as PayloadCodec) === jsonCodec;
  }

  /**
   * The column value for `payload`.
   *
   * @throws whatever the codec throws; PayloadDecodeError when a `jsonb` column gets bytes
   *   that are not UTF-8.
   */
  encode(payload: P): string | Buffer {
    if (this.plainJson) {
      const text = JSON.stringify(payload) as string | undefined;
      if (text === undefined)
        throw new PayloadDecodeError(`cannot encode ${typeof payload} as JSON`);
      return text;
    }
    const bytes = this.codec.encode(payload);
    if (this.type === 'bytea') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new PayloadDecodeError('a jsonb payload column needs UTF-8 JSON text from the codec', {
        cause: error,
      });
    }
  }

  /** The payload of a column value. @throws whatever the codec throws for a bad body. */
  decode(value: string | Buffer): P {
    if (this.plainJson && typeof value === 'string') return JSON.parse(value) as P;
    return this.codec.decode(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
  }
}

/** This consumer's claim on one queue row, kept out of the transaction's public metadata. */
export interface QueueLease {
  readonly id: string;
  /** The row's delivery count when claimed: the guard of every statement on the lease. */
  readonly deliveries: number;
  /** When the lease ends (local clock, ms since the epoch); renewals push it back. */
  until: number;
  /** Why this consumer no longer holds the row (`null` while it does). */
  lost: string | null;
}

/** The ids and delivery counts of `leases` (or of just-claimed rows), as statements take them. */
export function leaseKeys(leases: readonly Pick<QueueLease, 'id' | 'deliveries'>[]): LeaseKeys {
  const ids: string[] = [];
  const deliveries: number[] = [];
  const counts = new Set<number>();
  for (const lease of leases) {
    ids.push(lease.id);
    deliveries.push(lease.deliveries);
    counts.add(lease.deliveries);
  }
  return { ids, counts: [...counts], deliveries };
}
