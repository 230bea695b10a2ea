import { describeValue } from '../core/renderers.js';
import type { Transaction } from '../core/transaction.js';
import { ConnectorContractError } from '../core/errors.js';

/**
 * Reads what `connector.dispatch` resolved with: `undefined`, `null` or a report whose
 * `failed` (absent or an array) names transactions of the batch, by identity or, for
 * connectors that report copies, by id. Returns the error of each failed transaction of
 * `batch` (one entry per failure, so a failure reported for one transaction does not fail
 * another with the same id). Throws a {@link ConnectorContractError} naming the problem for
 * anything else: a report that is not an object, a `failed` that is not an array, an entry
 * that is not `{ transaction, error }`, or one naming a transaction the batch does not hold.
 */
export function readDispatchReport<P>(
  report: unknown,
  batch: readonly Transaction<P>[],
): Map<Transaction<P>, unknown> {
  const failures = new Map<Transaction<P>, unknown>();
  if (report === undefined || report === null) return failures;
  if (typeof report !== 'object') throw contractBroken(`it resolved with ${describeValue(report)}`);
  const failed = (report as { readonly failed?: unknown }).failed;
  if (failed === undefined) return failures;
  if (!Array.isArray(failed)) {
    throw contractBroken(`its report's failed is ${describeValue(failed)}, not an array`);
  }
  if (failed.length === 0) return failures;
  const inBatch = new Set<unknown>(batch);
  const byId = new Map<string, Transaction<P>[]>();
  for (const transaction of batch) {
    const same = byId.get(transaction.id);
    if (same === undefined) byId.set(transaction.id, [transaction]);
    else same.push(transaction);
  }
  failed.forEach((entry: unknown, index) => {
    const transaction =
      typeof entry === 'object' && entry !== null
        ? (entry as { readonly transaction?: unknown }).transaction
        : undefined;
    if (
      typeof transaction !== 'object' ||
      transaction === null ||
      typeof (transaction as { readonly id?: unknown }).id !== 'string'
    ) {
      throw contractBroken(
        `its report's failed[${index}] is ${describeValue(entry)}, not { transaction, error } with a transaction of the batch`,
      );
    }
    const error = (entry as { readonly error?: unknown }).error;
    if (inBatch.has(transaction) && !failures.has(transaction as Transaction<P>)) {
      failures.set(transaction as Transaction<P>, error);
      return;
    }
    const id = (transaction as Transaction<P>).id;
    const candidate = byId.get(id)?.find((same) => !failures.has(same));
    if (candidate === undefined) {
      throw contractBroken(
        `its report's failed[${index}] names transaction ${JSON.stringify(id)}, which is not in the batch (or is named twice)`,
      );
    }
    failures.set(candidate, error);
  });
  return failures;
}

function contractBroken(problem: string): ConnectorContractError {
  return new ConnectorContractError(
    `connector.dispatch broke its contract: ${problem}; resolve with nothing or with { failed: [{ transaction, error }] } naming transactions of the batch`,
  );
}
