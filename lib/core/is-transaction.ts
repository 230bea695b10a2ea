import type { Transaction } from './transaction.js';

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
