import { traceMetadata } from '../../connector/trace-headers.js';
import { markUndecodable } from '../../core/decode-failure.js';
import type { Transaction } from '../../core/transaction.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import type { PayloadColumn } from './payload-column.js';

/** A queue row as the claim and by-id statements return it. */
export interface QueueRow {
  readonly id: string;
  /** `payload::text` for a `jsonb` column, the bytes for `bytea`. */
  readonly payload: string | Buffer;
  /** The `headers` object; `null` when it is empty. */
  readonly headers: unknown;
  /** How many times the row was handed out, this time included. */
  readonly deliveries: number;
  /** `created_at`, whole milliseconds since the epoch. */
  readonly enqueued_at: number;
}

/**
 * The metadata of a fetched transaction: `table` (`schema.table`), `deliveryCount`,
 * `redelivered`, `enqueuedAt` (ISO 8601), `headers` and the `traceparent`/`tracestate` found
 * in them.
 */
export type QueueMetadata = {
  readonly table: string;
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  readonly enqueuedAt: string;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
};

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
  const metadata: QueueMetadata = Object.freeze(
    headers === noHeaders
      ? { table, deliveryCount, redelivered, enqueuedAt, headers }
      : { table, deliveryCount, redelivered, enqueuedAt, headers, ...traceMetadata(headers) },
  );
  let payload: P;
  try {
    payload = column.decode(row.payload);
  } catch (error) {
    const raw = row.payload as unknown as P;
    return markUndecodable(Object.freeze({ id: row.id, payload: raw, metadata }), error);
  }
  return Object.freeze({ id: row.id, payload, metadata });
}
