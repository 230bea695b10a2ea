import { maskCredentials } from './mask-credentials.js';
import { printable } from './printable.js';
import { isInstance, readProperty, unreadable } from './safe-access.js';

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
  let json: string | undefined;
  try {
    json = JSON.stringify(error);
  } catch {
    json = undefined;
  }
  return `non-error thrown: ${json ?? printable(error)}`;
}
