import type { Transaction } from './transaction.js';

/**
 * The ordering key a transaction carries between tasks: `metadata.key` when it is a non-empty
 * string, else `undefined`. The RabbitMQ, Redis and NATS connectors send it with each
 * dispatched message (in a reserved header or field) and put it back in `metadata.key` when
 * they fetch it; `partitionedConnector` routes by it.
 *
 * @example
 * ```ts
 * transactionKey(createTransaction(order, { metadata: { key: order.customer } })); // 'ada'
 * transactionKey(createTransaction(order)); // undefined
 * ```
 */
export function transactionKey(transaction: Transaction): string | undefined {
  const key = transaction.metadata['key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

const fnvOffsetBasis = 0x811c9dc5;
const fnvPrime = 0x01000193;
const encoder = new TextEncoder();

/**
 * FNV-1a, 32 bits, of the UTF-8 bytes of `text`: an unsigned integer in [0, 2³²). The same
 * text gives the same hash in every process, every Node.js version and every language that
 * implements FNV-1a, so a producer written elsewhere can route the same way.
 *
 * @example
 * ```ts
 * fnv1a32(''); // 0x811c9dc5 = 2166136261
 * fnv1a32('a'); // 0xe40c292c = 3826002220
 * ```
 */
export function fnv1a32(text: string): number {
  let hash = fnvOffsetBasis;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, fnvPrime);
  }
  return hash >>> 0;
}

/**
 * The partition (0 … `partitions` − 1) of an ordering key: `fnv1a32(key) mod partitions`.
 * What `partitionedConnector` uses to route a transaction with `metadata.key` (a transaction
 * without a key is routed by its id the same way).
 *
 * @example
 * ```ts
 * partitionOf('customer-42', 4); // always the same partition of 4
 * ```
 */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}
