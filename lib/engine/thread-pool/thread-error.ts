import { ErgonError } from '../../core/errors.js';
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
