import type { LogRecord } from './log-record.js';
import { toSafeJson } from './safe-json.js';

/** The keys a JSON record sets itself; user fields with these names go under `fields`. */
export const reservedLogKeys: ReadonlySet<string> = new Set([
  'timestamp',
  'level',
  'logger',
  'message',
  'trace_id',
  'span_id',
  'trace_flags',
  'transaction_id',
  'task',
  'error',
  'fields',
]);

/**
 * A record as one line of JSON: `timestamp` (ISO 8601, UTC), `level` (upper case), `logger`,
 * `message`, then `trace_id`, `span_id`, `trace_flags`, `transaction_id`, `task` and `error`
 * when known, then the user's fields. A user field named like one of those keys is kept under
 * `fields` instead of overwriting it. Never throws: bigints become strings, errors are
 * described, cycles print as `"[Circular]"`, and a value whose `toJSON` throws leaves the
 * fields out with a note.
 *
 * @example
 * ```ts
 * formatJsonLine(record);
 * // {"timestamp":"2026-11-27T12:00:01.123Z","level":"INFO","logger":"ergon.orders","message":"saved","trace_id":"4bf9…","span_id":"00f0…","trace_flags":"01","transaction_id":"order-1","task":"orders","id":7}
 * ```
 */
export function formatJsonLine(record: LogRecord): string {
  const base = jsonBase(record);
  const line = toSafeJson({ ...base, ...jsonFields(record.fields) });
  return line ?? toSafeJson({ ...base, fields: '[unserializable fields]' }) ?? '{}';
}

function jsonBase(record: LogRecord): Record<string, unknown> {
  const base: Record<string, unknown> = {
    timestamp: record.timestamp.toISOString(),
    level: record.level.toUpperCase(),
    logger: record.logger,
    message: record.message,
  };
  if (record.traceId !== undefined) {
    base['trace_id'] = record.traceId;
    base['span_id'] = record.spanId;
    base['trace_flags'] = record.traceFlags;
  }
  if (record.transactionId !== undefined) base['transaction_id'] = record.transactionId;
  if (record.task !== undefined) base['task'] = record.task;
  if (record.error !== undefined) base['error'] = record.error;
  return base;
}

function jsonFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  let colliding: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (reservedLogKeys.has(key)) (colliding ??= {})[key] = value;
    else merged[key] = value;
  }
  if (colliding !== undefined) merged['fields'] = colliding;
  return merged;
}
