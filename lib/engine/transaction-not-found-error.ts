import { ErgonError } from '../core/errors.js';

/** `runTransactionById` found no transaction with the given id. */
export class TransactionNotFoundError extends ErgonError {
  readonly transactionId: string;
  constructor(id: string) {
    super(`no transaction with id "${id}"`);
    this.transactionId = id;
  }
}
