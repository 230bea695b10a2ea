import { describeError, errorParts } from '../../core/renderers.js';
import { ErgonError, NonRetryableError } from '../../core/errors.js';
import type { SerializedThreadError } from './thread-messages.js';

/**
 * An error thrown (or a rejection) by a function run in a {@link ThreadPool} thread. Its
 * `name`, `message` and `stack` are the original's (the stack is the thread's); the class
 * could not cross the thread boundary, so match on `name`. A `NonRetryableError` thrown in
 * the thread comes back as a real `NonRetryableError` instead.
 *
 * @example
 * ```ts
 * if (error instanceof ThreadError && error.name === 'RangeError') …
 * ```
 */
export class ThreadError extends ErgonError {
  constructor(remote: SerializedThreadError) {
    super(remote.message);
    this.name = remote.name;
    if (remote.stack !== undefined) this.stack = remote.stack;
  }
}

/**
 * The thread running a call died before answering: it called `process.exit`, crashed on an
 * uncaught error outside the call, or ran out of memory. The thread is replaced.
 */
export class ThreadExitError extends ErgonError {}

/**
 * A thread call's payload cannot cross to a thread: structured clone refused it (a function,
 * a class instance with private state, a Proxy, …). The call never started. Every retry
 * would fail the same way, so it is a {@link NonRetryableError}: the transaction goes to its
 * exception handler at once. The structured clone error is its `cause`.
 */
export class ThreadPayloadError extends NonRetryableError {
  constructor(cause: unknown, transactionId: string) {
    super(
      `the payload${transactionId === '' ? '' : ` of transaction ${transactionId}`} cannot be ` +
        `sent to a thread (${describeError(cause)}); pass plain data: objects, arrays, Date, ` +
        `Map, Set and typed arrays cross threads, functions and class behaviour do not`,
      { cause },
    );
  }
}

/**
 * A call was made to a {@link ThreadPool} after `close()`, or was still queued or running
 * when the pool closed.
 */
export class ThreadPoolClosedError extends ErgonError {
  constructor() {
    super('thread pool is closed');
  }
}

/** Plain-data form of anything thrown in a thread; never throws, whatever was thrown. */
export function serializeThreadError(error: unknown): SerializedThreadError {
  const parts = errorParts(error);
  if (parts === undefined)
    return { name: 'Error', message: describeError(error), stack: undefined };
  return {
    name: parts.type,
    message: parts.message ?? describeError(error),
    stack: parts.stack,
  };
}

/** Turns an error posted by a thread back into an error: `NonRetryableError` by name. */
export function reviveThreadError(remote: SerializedThreadError): Error {
  if (remote.name === 'NonRetryableError') {
    const error = new NonRetryableError(remote.message);
    if (remote.stack !== undefined) error.stack = remote.stack;
    return error;
  }
  return new ThreadError(remote);
}
