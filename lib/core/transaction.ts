import { randomUUID } from 'node:crypto';
import { describeValue } from './renderers.js';
import { InvalidTransactionError } from './errors.js';

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

/**
 * Whether `value` is a transaction: a frozen object with a string `id`, a `payload` key and
 * an object `metadata` (what `createTransaction` and connectors make). Lets operators accept
 * either transactions or plain payloads.
 */
export function isTransaction(value: unknown): value is Transaction {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return false;
  const candidate = value as Partial<Transaction>;
  return (
    typeof candidate.id === 'string' &&
    'payload' in candidate &&
    typeof candidate.metadata === 'object' &&
    candidate.metadata !== null
  );
}

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
