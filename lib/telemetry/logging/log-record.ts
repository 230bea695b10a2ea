import { context, isSpanContextValid, trace, type Context } from '@opentelemetry/api';
import { formatWithOptions } from 'node:util';
import { describeError, describeValue, errorParts, renderValue } from '../../core/renderers.js';
import { isSecretKey, MASK, maskCredentials } from '../../core/mask-credentials.js';
import { isInstance, readProperty, unreadable } from '../../core/safe-access.js';
import { taskNameIn, transactionIdIn } from '../../core/transaction-context.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import type { LogMethodName } from './log-level.js';

/**
 * One log call, as every sink receives it.
 *
 * @example
 * ```ts
 * const sink: LogSink = {
 *   write: (record) => {
 *     if (record.level === 'error') alert(`${record.logger}: ${record.message} (trace ${record.traceId})`);
 *   },
 * };
 * ```
 */
export interface LogRecord {
  readonly timestamp: Date;
  readonly level: LogMethodName;
  /** The loglevel logger's name (`root` for the default logger). */
  readonly logger: string;
  readonly message: string;
  /** The active span's trace id (32 hex digits), when a valid span was active. */
  readonly traceId?: string;
  /** The active span's id (16 hex digits). */
  readonly spanId?: string;
  /** The active span's trace flags (`01` when sampled). */
  readonly traceFlags?: string;
  /** The transaction the engine was processing where the call was made. */
  readonly transactionId?: string;
  /** The task that was running (from the active context, else the logging configuration). */
  readonly task?: string;
  /** The first `Error` argument. */
  readonly error?: LoggedError;
  /** A trailing plain-object argument. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The OpenTelemetry context active at the call (for sinks that export to OpenTelemetry). */
  readonly context: Context;
}

const noFields: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Builds the record of one log call from loglevel-style arguments: a trailing plain object
 * becomes `fields`, the first `Error` becomes `error`, and the rest is formatted into `message`
 * the way `console.log` does (`%s`/`%d` placeholders, objects inspected on one line). A call
 * with only an error takes the error's message. Trace, span, transaction and task come from
 * the context active at the call. Credentials are masked (`maskCredentials`) in the message,
 * the error and the fields' string values; a field named like a secret shows as `***`.
 *
 * @example
 * ```ts
 * createLogRecord('warn', 'ergon.orders', ['retrying %s', 'order-1', error, { attempt: 2 }], undefined);
 * // { level: 'warn', message: 'retrying order-1', error: { type: 'Error', … }, fields: { attempt: 2 }, … }
 * ```
 */
export function createLogRecord(
  level: LogMethodName,
  logger: string,
  args: readonly unknown[],
  defaultTask: string | undefined,
): LogRecord {
  const active = context.active();
  const last = args.at(-1);
  const fields = args.length > 0 && isPlainObject(last) ? last : undefined;
  const parts = fields === undefined ? [...args] : args.slice(0, -1);
  const errorIndex = parts.findIndex((part) => isInstance(part, Error));
  const error = errorIndex < 0 ? undefined : (parts.splice(errorIndex, 1)[0] as Error);
  const message = maskCredentials(
    parts.length > 0
      ? formatParts(parts)
      : error === undefined
        ? ''
        : (errorParts(error)?.message ?? describeError(error)),
  );
  const record: { -readonly [K in keyof LogRecord]: LogRecord[K] } = {
    timestamp: new Date(),
    level,
    logger,
    message,
    fields: fields === undefined ? noFields : maskedFields(fields),
    context: active,
  };
  const spanContext = trace.getSpan(active)?.spanContext();
  if (spanContext !== undefined && isSpanContextValid(spanContext)) {
    record.traceId = spanContext.traceId;
    record.spanId = spanContext.spanId;
    record.traceFlags = spanContext.traceFlags.toString(16).padStart(2, '0');
  }
  const transactionId = transactionIdIn(active);
  if (transactionId !== undefined) record.transactionId = transactionId;
  const task = taskNameIn(active) ?? defaultTask;
  if (task !== undefined) record.task = task;
  if (error !== undefined) record.error = loggedError(error);
  return record;
}

/**
 * The parts of a log call as `console.log` formats them; when that throws (Node's inspection
 * of an Error whose getters throw), each part described on its own instead.
 */
function formatParts(parts: readonly unknown[]): string {
  try {
    return formatWithOptions({ breakLength: Infinity, depth: 4 }, ...parts);
  } catch {
    return parts
      .map((part) =>
        typeof part === 'string'
          ? part
          : errorParts(part) === undefined
            ? describeValue(part)
            : describeError(part),
      )
      .join(' ');
  }
}

/**
 * The trailing fields of a log call with secret-named values and credentials in strings
 * masked. Never throws: a field whose getter throws is described as unreadable, and fields
 * that cannot even be listed (a revoked Proxy) become one such note.
 */
function maskedFields(
  fields: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  let keys: string[];
  try {
    keys = Object.keys(fields);
  } catch {
    return { fields: '(the fields of this log call could not be read)' };
  }
  const masked: Record<string, unknown> = {};
  for (const key of keys) {
    const value = readProperty(fields, key);
    masked[key] = isSecretKey(key)
      ? MASK
      : value === unreadable
        ? '(could not be read)'
        : typeof value === 'string'
          ? maskCredentials(value)
          : value;
  }
  return masked;
}

/** An error as a log record carries it. */
export interface LoggedError {
  /** The error's name (`TypeError`, `TransactionError`, …). */
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  /** The error's `cause`, when it has one (described the same way, a few levels deep). */
  readonly cause?: LoggedError | string;
}

const deepestCause = 3;

/**
 * Describes an error for a log record: type, message, stack and its chain of causes, with
 * credentials masked (`maskCredentials`). Never throws, whatever the error's getters do.
 *
 * @example
 * ```ts
 * loggedError(new TypeError('bad')); // { type: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at …' }
 * ```
 */
export function loggedError(error: Error, depth = 0): LoggedError {
  // Read through errorParts: an error whose getters throw must still be logged.
  const parts = errorParts(error) ?? { type: 'Error', message: undefined, stack: undefined };
  const described: { -readonly [K in keyof LoggedError]: LoggedError[K] } = {
    type: parts.type,
    message: maskCredentials(parts.message ?? describeError(error)),
  };
  if (parts.stack !== undefined) described.stack = maskCredentials(parts.stack);
  const cause = readProperty(error, 'cause');
  if (cause === unreadable) described.cause = '(its cause could not be read)';
  else if (isInstance(cause, Error) && depth < deepestCause)
    described.cause = loggedError(cause as Error, depth + 1);
  else if (cause !== undefined && !isInstance(cause, Error))
    described.cause = typeof cause === 'string' ? maskCredentials(cause) : renderValue(cause);
  return described;
}
