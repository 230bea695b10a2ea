import { keywordCodec } from '../../policy/codecs/values.js';
import { loggedError, type LoggedError, type LogRecord } from './log-record.js';

/** `json`: one JSON object per line, for machines. `pretty`: a readable line, for development. */
export type LogFormat = 'json' | 'pretty';

/** Codec of a {@link LogFormat} (trimmed, case-insensitive; `text` means `pretty`). */
export const LogFormatCodec = keywordCodec<LogFormat>(['json', 'pretty'], { text: 'pretty' });

/** Turns a record into the text a console or file sink writes (without the newline). */
export type LogFormatter = (record: LogRecord) => string;

/**
 * The formatter of a format.
 *
 * @example
 * ```ts
 * const line = formatterFor('pretty')(record); // '12:00:01.123 INFO  ergon.orders saved'
 * ```
 */
export function formatterFor(format: LogFormat): LogFormatter {
  return format === 'json' ? formatJsonLine : formatPrettyLine;
}

/** The keys a JSON record sets itself; user fields with these names go under `fields`. */
const reservedLogKeys: ReadonlySet<string> = new Set([
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

const shortTraceId = 8;

/**
 * A record as a human-readable line for development: local time, level, logger, the trace and
 * transaction it belongs to, the message and the fields as JSON; an error's stack follows on
 * the next lines.
 *
 * @example
 * ```ts
 * formatPrettyLine(record);
 * // 12:00:01.123 INFO  ergon.orders [trace=4bf92f35… tx=order-1] saved {"id":7}
 * ```
 */
export function formatPrettyLine(record: LogRecord): string {
  const parts = [clockTime(record.timestamp), record.level.toUpperCase().padEnd(5), record.logger];
  const where = [
    record.traceId === undefined ? undefined : `trace=${record.traceId.slice(0, shortTraceId)}…`,
    record.transactionId === undefined ? undefined : `tx=${record.transactionId}`,
  ].filter((part) => part !== undefined);
  if (where.length > 0) parts.push(`[${where.join(' ')}]`);
  if (record.message !== '') parts.push(record.message);
  const fields = fieldsText(record.fields);
  if (fields !== undefined) parts.push(fields);
  const line = parts.join(' ');
  return record.error === undefined ? line : `${line}\n${errorText(record.error)}`;
}

function clockTime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const milliseconds = String(date.getMilliseconds()).padStart(3, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${milliseconds}`;
}

function fieldsText(fields: Readonly<Record<string, unknown>>): string | undefined {
  if (Object.keys(fields).length === 0) return undefined;
  return toSafeJson(fields) ?? '{…}';
}

function errorText(error: LoggedError): string {
  const head = error.stack ?? `${error.type}: ${error.message}`;
  const indented = head
    .split('\n')
    .map((line) => `    ${line.trimStart()}`)
    .join('\n');
  if (error.cause === undefined) return indented;
  const cause = typeof error.cause === 'string' ? `    ${error.cause}` : errorText(error.cause);
  return `${indented}\n    caused by:\n${cause}`;
}

/**
 * `JSON.stringify` for log output: bigints become strings, errors are described (type,
 * message, stack, cause), and an object met again inside itself prints as `"[Circular]"`.
 * Returns `undefined` instead of throwing when a `toJSON` or getter throws.
 *
 * @example
 * ```ts
 * const node: Record<string, unknown> = { n: 1n };
 * node['self'] = node;
 * toSafeJson(node); // '{"n":"1","self":"[Circular]"}'
 * ```
 */
export function toSafeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, safeReplacer());
  } catch {
    return undefined;
  }
}

function safeReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function replace(this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return loggedError(value);
    if (typeof value !== 'object' || value === null) return value;
    while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}
