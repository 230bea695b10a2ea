import type { Transaction } from './transaction.js';

/** A transaction of a dispatched batch that did not reach the destination, and why. */
export interface DispatchFailure<P = unknown> {
  readonly transaction: Transaction<P>;
  readonly error: unknown;
}

/** What happened to one batch sent to a connector. */
export interface DispatchReceipt<P = unknown> {
  /** The batch, in the order it was sent. */
  readonly transactions: readonly Transaction<P>[];
  /** The transactions that failed: all of them when the whole batch failed. */
  readonly failed: readonly DispatchFailure<P>[];
  /** Why the whole batch failed after every attempt, when it did. */
  readonly error?: unknown;
  /** How many times `connector.dispatch` was called for this batch. */
  readonly attempts: number;
}
