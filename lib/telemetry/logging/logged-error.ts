import { describeError, errorParts, renderValue } from '../../core/renderers.js';
import { isInstance, readProperty, unreadable } from '../../core/safe-access.js';
import { maskCredentials } from '../../core/mask-credentials.js';

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
