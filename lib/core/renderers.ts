import { TransactionError } from './errors.js';
import { maskCredentials } from './mask-credentials.js';
import { isInstance, readProperty, unreadable } from './safe-access.js';

// Renderers of values and errors for messages, log lines and telemetry attributes. Every one
// of them never throws, whatever it is given (a throwing getter, a revoked Proxy, an object
// without prototype), so that describing a failure never becomes a failure of its own.

/** What can be read of an `Error`, whatever its getters do. */
export interface ErrorParts {
  /** Its name, or its class's name when the name is `Error` or unreadable (`TypeError`, …). */
  readonly type: string;
  /** Its message (`''` when it has none), or `undefined` when reading it threw. */
  readonly message: string | undefined;
  /** Its stack, when it has a readable string one. */
  readonly stack: string | undefined;
}

/**
 * The parts of `error` when it is an `Error`, else `undefined`. Never throws: a getter that
 * throws (or a revoked Proxy) only leaves its part out.
 */
export function errorParts(error: unknown): ErrorParts | undefined {
  if (!isInstance(error, Error)) return undefined;
  const name = readProperty(error, 'name');
  const className = readProperty(readProperty(error, 'constructor'), 'name');
  const type =
    typeof name === 'string' && name !== '' && name !== 'Error'
      ? name
      : typeof className === 'string' && className !== ''
        ? className
        : 'Error';
  const message = readProperty(error, 'message');
  const stack = readProperty(error, 'stack');
  return {
    type,
    message:
      message === unreadable
        ? undefined
        : message === undefined
          ? ''
          : typeof message === 'string'
            ? message
            : printable(message),
    stack: typeof stack === 'string' ? stack : undefined,
  };
}

/**
 * A one-line description of anything thrown: `Type: message`, falling back to the type name
 * when the message is empty (so `new Error('')` still says something) and to a JSON or
 * string rendering for thrown non-errors. Credentials in it are masked (`maskCredentials`).
 * Never throws, whatever was thrown (an Error whose getters throw, a revoked Proxy, an object
 * without prototype).
 */
export function describeError(error: unknown): string {
  return maskCredentials(describeUnmasked(error));
}

function describeUnmasked(error: unknown): string {
  const parts = errorParts(error);
  if (parts !== undefined) {
    if (parts.message === undefined) return `${parts.type} (its message could not be read)`;
    return parts.message === '' ? `${parts.type} (no message)` : `${parts.type}: ${parts.message}`;
  }
  if (typeof error === 'string') return error === '' ? 'empty string thrown' : error;
  return `non-error thrown: ${asJson(error) ?? printable(error)}`;
}

/**
 * `String(value)`, or, for a value with no string form (an object without prototype, one whose
 * `toString` is not a function), its type tag (`[object Object]`). Never throws, so that it can
 * name any bad value in an error message.
 */
export function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}

/**
 * A short rendering of any value for an error message: its type and a JSON excerpt. Never
 * throws (a revoked Proxy, a throwing getter or an object without prototype included).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') {
    const name = readProperty(value, 'name');
    return `function ${typeof name === 'string' && name !== '' ? name : '(anonymous)'}`;
  }
  if (typeof value === 'object' && typeof readProperty(value, 'then') === 'function') {
    return 'a Promise';
  }
  const text = asJson(value) ?? printable(value);
  return `${typeof value} ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

const longestValue = 80;

/**
 * A value as JSON for a log line, shortened when long; numbers such as `NaN` and values JSON
 * cannot hold (`undefined`, functions, cycles, bigints) as `String(value)`, and values that
 * have no string form either (an object without prototype, or an array holding one) by their
 * type tag (`[object Object]`). Credentials are masked (`maskCredentials`) before shortening.
 * Never throws: it renders the bad values of a failed decode.
 */
export function renderValue(value: unknown): string {
  const text = maskCredentials(
    typeof value === 'number' ? String(value) : (asJson(value) ?? printable(value)),
  );
  return text.length > longestValue ? `${text.slice(0, longestValue - 1)}…` : text;
}

/** `JSON.stringify(value)`, or `undefined` when it throws (a cycle, a bigint, a throwing `toJSON`). */
function asJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The low-cardinality `error.type` of a failure: the class name of the original error (for a
 * wrapped `TransactionError`, of its cause), never its message. Never throws.
 */
export function describeErrorType(error: unknown): string {
  const cause = isInstance(error, TransactionError) ? readProperty(error, 'cause') : undefined;
  const original = cause === undefined ? error : cause;
  return errorParts(original)?.type ?? typeof original;
}
