import { NonRetryableError } from '../../core/errors.js';
import { ThreadError } from './thread-error.js';
import type { SerializedThreadError } from './thread-messages.js';

/** Turns an error posted by a thread back into an error: `NonRetryableError` by name. */
export function reviveThreadError(remote: SerializedThreadError): Error {
  if (remote.name === 'NonRetryableError') {
    const error = new NonRetryableError(remote.message);
    if (remote.stack !== undefined) error.stack = remote.stack;
    return error;
  }
  return new ThreadError(remote);
}
