import { ErgonError } from './ergon-error.js';

/**
 * Thrown by user code to stop retrying at once: the stage fails on this attempt whatever
 * its `maxAttempts`, and the transaction goes straight to its exception handler.
 *
 * @example
 * ```ts
 * process: (tx) => {
 *   if (!isValid(tx.payload)) throw new NonRetryableError('payload has no customer id');
 *   return save(tx.payload);
 * }
 * ```
 */
export class NonRetryableError extends ErgonError {}
