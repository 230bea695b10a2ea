import type { LogRecord } from './log-record.js';
import type { LoggedError } from './logged-error.js';
import { toSafeJson } from './safe-json.js';

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
