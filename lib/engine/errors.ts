import { ErgonError } from '../core/errors.js';

/** A task definition is missing a handler or has one that is not a function. */
export class TaskDefinitionError extends ErgonError {}

/** `runTransactionById` found no transaction with the given id. */
export class TransactionNotFoundError extends ErgonError {
  readonly transactionId: string;
  constructor(id: string) {
    super(`no transaction with id "${id}"`);
    this.transactionId = id;
  }
}
