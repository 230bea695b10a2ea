import { TransactionError } from '../../core/transaction-error.js';

/**
 * The low-cardinality `error.type` of a failure: the class name of the original error (for a
 * wrapped `TransactionError`, of its cause), never its message.
 */
export function describeErrorType(error: unknown): string {
  const original =
    error instanceof TransactionError && error.cause !== undefined ? error.cause : error;
  if (original instanceof Error) {
    const name =
      original.name && original.name !== 'Error' ? original.name : original.constructor.name;
    return name || 'Error';
  }
  return typeof original;
}
