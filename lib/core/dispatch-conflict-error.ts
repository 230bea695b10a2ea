import { ErgonError } from './ergon-error.js';

/**
 * A dispatched transaction was not stored because the destination already holds a
 * different transaction (another payload) under the same id: it is reported as this
 * transaction's failure instead of being dropped silently. Give transactions unique ids
 * (`createTransaction` makes UUIDs), or dispatch the same payload again (an idempotent
 * retry succeeds).
 */
export class DispatchConflictError extends ErgonError {
  readonly transactionId: string;
  constructor(transactionId: string, where: string) {
    super(
      `transaction ${JSON.stringify(transactionId)} was not stored: ${where} already holds a different transaction with this id; give each transaction its own id`,
    );
    this.transactionId = transactionId;
  }
}
