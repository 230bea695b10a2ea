import type { Transaction } from './transaction.js';

const failures = new WeakMap<Transaction, unknown>();

/**
 * Marks a fetched transaction whose payload a connector could not decode. The engine skips
 * `process` for it and routes a `TransactionError` (category `business`, stage `decode`,
 * the decode error as `cause`) to the exception handler, so one bad message never crashes
 * the loop. Connectors call this; tasks never need to.
 *
 * @example
 * ```ts
 * let payload: unknown;
 * try { payload = JSON.parse(line); } catch (error) {
 *   return markUndecodable(createTransaction(line, { id, metadata: { line: n } }), error);
 * }
 * ```
 */
export function markUndecodable<P>(transaction: Transaction<P>, error: unknown): Transaction<P> {
  failures.set(transaction, error === undefined ? new Error('undecodable payload') : error);
  return transaction;
}

/** The decode error of a transaction marked with {@link markUndecodable}, or `undefined`. */
export function decodeFailureOf(transaction: Transaction): unknown {
  return failures.get(transaction);
}
