import { ErgonError } from '../core/errors.js';

/**
 * A task definition is missing a handler or has one that is not a function. Thrown at once by
 * `consumerTask`, `producerTask`, `consume` and `produce`, before anything runs.
 *
 * @example
 * ```ts
 * consume(connector, { process: () => 1 } as never);
 * // TaskDefinitionError: consume expects a task made by consumerTask({ process, … }), got object
 * ```
 */
export class TaskDefinitionError extends ErgonError {}

/**
 * `runTransactionById` found no transaction with the given id; `transactionId` names it.
 *
 * @example
 * ```ts
 * runTransactionById(connector, task, 'order-7').subscribe({
 *   error: (error: unknown) => {
 *     if (error instanceof TransactionNotFoundError) console.error(`no ${error.transactionId}`);
 *   },
 * });
 * ```
 */
export class TransactionNotFoundError extends ErgonError {
  readonly transactionId: string;
  constructor(id: string) {
    super(`no transaction with id "${id}"`);
    this.transactionId = id;
  }
}

/**
 * A task's `processBatch` returned something other than one result per transaction it was
 * given (an array, as long as the batch, of `{ ok: true, value }` or `{ ok: false, error }`).
 * Every transaction of that batch fails with it (stage `process`); it is not retried.
 */
export class BatchResultError extends ErgonError {}
