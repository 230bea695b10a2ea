import { errorParts } from '../../core/describe-error.js';
import { isInstance, readProperty } from '../../core/safe-access.js';
import { TransactionError } from '../../core/transaction-error.js';

/**
 * The low-cardinality `error.type` of a failure: the class name of the original error (for a
 * wrapped `TransactionError`, of its cause), never its message. Never throws.
 */
export function describeErrorType(error: unknown): string {
  const cause = isInstance(error, TransactionError) ? readProperty(error, 'cause') : undefined;
  const original = cause === undefined ? error : cause;
  return errorParts(original)?.type ?? typeof original;
}
