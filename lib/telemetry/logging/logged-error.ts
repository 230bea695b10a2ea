import { maskCredentials } from '../../core/mask-credentials.js';
import { renderValue } from '../../policy/policy-issues.js';

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
 * credentials masked (`maskCredentials`).
 *
 * @example
 * ```ts
 * loggedError(new TypeError('bad')); // { type: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at …' }
 * ```
 */
export function loggedError(error: Error, depth = 0): LoggedError {
  const type = error.name || error.constructor.name || 'Error';
  const described: { -readonly [K in keyof LoggedError]: LoggedError[K] } = {
    type,
    message: maskCredentials(String(error.message)),
  };
  if (typeof error.stack === 'string') described.stack = maskCredentials(error.stack);
  const cause: unknown = error.cause;
  if (cause instanceof Error && depth < deepestCause)
    described.cause = loggedError(cause, depth + 1);
  else if (cause !== undefined && !(cause instanceof Error))
    described.cause = typeof cause === 'string' ? maskCredentials(cause) : renderValue(cause);
  return described;
}
