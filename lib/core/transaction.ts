import { randomUUID } from 'node:crypto';
import { describeValue } from './describe-value.js';
import { InvalidTransactionError } from './invalid-transaction-error.js';

/**
 * The unit of work: an id, the data to work on and context about it. Immutable: the object
 * and its metadata are frozen (the payload is yours; freeze it too if you share it).
 */
export interface Transaction<P = unknown> {
  readonly id: string;
  readonly payload: P;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Optional parts of a new transaction. */
export interface TransactionInit {
  /** Stable id; a random UUID when absent. Must be a non-empty string. */
  readonly id?: string;
  /** Context such as headers, source position or trace parent; copied, then frozen. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

const noMetadata: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Creates a frozen transaction.
 *
 * @example
 * ```ts
 * const tx = createTransaction({ orderId: 42 }, { metadata: { source: 'orders.jsonl' } });
 * tx.id; // a random UUID
 * ```
 * @throws InvalidTransactionError when `id` is not a non-empty string or `metadata` not an object.
 */
export function createTransaction<P>(payload: P, init?: TransactionInit): Transaction<P> {
  let id: string;
  let metadata = noMetadata;
  if (init === undefined) {
    id = randomUUID();
  } else {
    if (init.id === undefined) {
      id = randomUUID();
    } else if (typeof init.id !== 'string' || init.id === '') {
      throw new InvalidTransactionError(
        `transaction id must be a non-empty string, got ${describeValue(init.id)}`,
      );
    } else {
      id = init.id;
    }
    if (init.metadata !== undefined) {
      if (
        init.metadata === null ||
        typeof init.metadata !== 'object' ||
        Array.isArray(init.metadata)
      ) {
        throw new InvalidTransactionError(
          `transaction metadata must be a plain object, got ${describeValue(init.metadata)}`,
        );
      }
      metadata = Object.freeze({ ...init.metadata });
    }
  }
  return Object.freeze({ id, payload, metadata });
}
