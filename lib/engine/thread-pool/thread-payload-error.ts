import { describeError } from '../../core/renderers.js';
import { NonRetryableError } from '../../core/errors.js';

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
