import type { AnyValue, AnyValueMap } from '@opentelemetry/api-logs';
import { isPlainObject } from '../../policy/codecs/structures.js';
import type { LogRecord } from './log-record.js';
import { loggedError } from './logged-error.js';

const deepestValue = 4;

/**
 * The OpenTelemetry attributes of a record: its fields (nested objects and arrays kept, bigints
 * and other non-JSON values as strings, functions and symbols left out), plus
 * `ergon.transaction.id` and `ergon.task.name` when known. Trace context and the error travel
 * in the OpenTelemetry record itself, not as attributes.
 *
 * @example
 * ```ts
 * logAttributes(record); // { id: 7, 'ergon.transaction.id': 'order-1', 'ergon.task.name': 'orders' }
 * ```
 */
export function logAttributes(record: LogRecord): AnyValueMap {
  const attributes = anyValueMap(record.fields, 0);
  if (record.transactionId !== undefined) {
    attributes['ergon.transaction.id'] = record.transactionId;
  }
  if (record.task !== undefined) attributes['ergon.task.name'] = record.task;
  return attributes;
}

function anyValueMap(fields: Readonly<Record<string, unknown>>, depth: number): AnyValueMap {
  const map: AnyValueMap = {};
  for (const [key, value] of Object.entries(fields)) {
    const converted = anyValue(value, depth);
    if (converted !== undefined) map[key] = converted;
  }
  return map;
}

function anyValue(value: unknown, depth: number): AnyValue {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
    case 'undefined':
      return undefined;
    default:
      break;
  }
  if (value === null || value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= deepestValue) return '[…]';
  if (value instanceof Error) return anyValueMap({ ...loggedError(value) }, depth + 1);
  if (Array.isArray(value)) return value.map((item: unknown) => anyValue(item, depth + 1) ?? null);
  if (isPlainObject(value)) return anyValueMap(value, depth + 1);
  return String(value);
}
