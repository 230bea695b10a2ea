import { defaultIfEmpty, defer, from, of, switchMap, throwError, type Observable } from 'rxjs';
import type { Outcome } from '../core/outcome.js';
import type { Transaction } from '../core/transaction.js';
import { ConnectorContractError } from '../core/errors.js';
import type { Connector } from '../core/connector.js';
import type { ConsumerPolicyInput } from '../policy/consumer-policy.js';
import type { ConsumerTask } from './task-definition.js';
import type { EngineOptions } from './engine-options.js';
import { processWith } from './process-with.js';
import { TransactionNotFoundError } from './errors.js';

/**
 * Runs exactly one transaction through `task`'s full lifecycle (same stages, retries,
 * runtime budget and outcome as in a loop) and emits its outcome. Nothing is fetched or
 * settled: use it to reprocess or debug one transaction.
 *
 * @example
 * ```ts
 * const outcome = await firstValueFrom(runTransaction(task, createTransaction({ orderId: 42 }), policy));
 * ```
 */
export function runTransaction<P, R, S>(
  task: ConsumerTask<P, R, S>,
  transaction: Transaction<P>,
  policy?: ConsumerPolicyInput,
  options?: EngineOptions,
): Observable<Outcome<P, R>> {
  return of(transaction).pipe(processWith(task, policy, options));
}

/**
 * Looks a transaction up with `connector.fetchById`, then runs it like
 * {@link runTransaction} (it is not settled on the connector). Errors with a
 * `ConnectorContractError` when the connector cannot look transactions up, and with a
 * `TransactionNotFoundError` when there is no such transaction.
 *
 * @example
 * ```ts
 * runTransactionById(deadLetters, task, 'order-42', policy).subscribe(console.log);
 * ```
 */
export function runTransactionById<P, R, S>(
  connector: Connector<P>,
  task: ConsumerTask<P, R, S>,
  id: string,
  policy?: ConsumerPolicyInput,
  options?: EngineOptions,
): Observable<Outcome<P, R>> {
  return defer(() => {
    if (typeof connector.fetchById !== 'function') {
      return throwError(
        () =>
          new ConnectorContractError(
            `this connector cannot look transactions up by id (it has no fetchById), so transaction "${id}" cannot be run`,
          ),
      );
    }
    return from(connector.fetchById(id)).pipe(
      defaultIfEmpty(undefined),
      switchMap((transaction) =>
        transaction === undefined
          ? throwError(() => new TransactionNotFoundError(id))
          : runTransaction(task, transaction, policy, options),
      ),
    );
  });
}
