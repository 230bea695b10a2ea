import { from, type Observable, toArray } from 'rxjs';
import type { Connector, DispatchReceipt } from '../core/connector.js';
import type { Outcome } from '../core/outcome.js';
import { RetryLaterError } from '../core/errors.js';
import { describeError } from '../core/renderers.js';
import type { Transaction } from '../core/transaction.js';
import { consume, type ConsumeOptions } from '../engine/consume.js';
import { dispatchTo } from '../engine/dispatch-to.js';
import type { BatchItemResult } from '../engine/task-definition.js';
import { consumerTask } from '../engine/task-definition.js';
import type { ConsumerPolicyInput } from '../policy/consumer-policy.js';
import type { DispatchOptionsInput } from '../policy/dispatch-options.js';
import { queueKey, type PostgresConnector } from '../connectors/postgres/postgres-connector.js';

/** What {@link relayOutbox} takes besides the outbox and the destination. */
export interface OutboxRelayOptions extends ConsumeOptions {
  /** How each batch is dispatched (`retry`, `timeout`; `batch` is the fetched batch). */
  readonly dispatch?: Omit<DispatchOptionsInput, 'batch' | 'maxWait'>;
}

/**
 * How long a row the destination refused (after the dispatch retries) waits in the outbox
 * before it is published again; it keeps its place at the head of its key meanwhile.
 */
const republishDelay = 1000;

/** The relay's loop when no policy is given: streaming, 4 batches of up to 100 at once. */
const defaultPolicy: ConsumerPolicyInput = {
  loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true },
  fetch: { batch: { size: 100 } },
  process: { batch: { size: 100, maxWait: 0 } },
};

/**
 * The outbox relay: consumes the outbox queue (the PostgreSQL queue `ctx.outbox.send`
 * writes to) and publishes what it claims to `destination` with `dispatchTo`, acking each
 * row once the destination confirmed it; a row the destination refused after the dispatch
 * retries goes back to the outbox for a second (third…) try a second later, never to a dead
 * letter by the relay's choice (only `maxDeliveries` buries it). Only committed rows are in the queue, so a
 * rolled-back transaction's sends are never published; rows committed before a crash are
 * published when the relay (any worker's) claims them. Order per key: rows with a
 * `metadata.key` are claimed one at a time per key, in the order they were queued, and the
 * next is claimed only after the previous one was published and acked.
 *
 * At-least-once towards the destination: a crash between the publish and the ack publishes
 * the row again, with the same id. Consumers dedupe by `transaction.id` (an inbox does).
 *
 * Returns the consumer loop (cold): subscribe to run it; in a runner task, merge it with
 * the task's own loop and pass `stop$`.
 *
 * @example
 * ```ts
 * merge(
 *   transactional(orders, { outbox }).consume(handlers, policy, { stop$ }),
 *   relayOutbox(outbox, shipments, undefined, { stop$ }),
 * ).subscribe();
 * ```
 */
export function relayOutbox<O>(
  outbox: PostgresConnector<O>,
  destination: Connector<O>,
  policy: ConsumerPolicyInput = defaultPolicy,
  options: OutboxRelayOptions = {},
): Observable<Outcome<O, undefined>> {
  const { dispatch, ...consumeOptions } = options;
  const task = consumerTask<O, undefined>({
    name: consumeOptions.name ?? 'outbox-relay',
    key: queueKey,
    processBatch: (transactions, { signal }) =>
      publish(destination, transactions, { ...dispatch, batch: transactions.length }, signal),
  });
  return consume(outbox, task, policy, consumeOptions);
}

/** Dispatches one batch through `dispatchTo`; one result per transaction, in order. */
function publish<O>(
  destination: Connector<O>,
  transactions: readonly Transaction<O>[],
  options: DispatchOptionsInput,
  signal: AbortSignal,
): Promise<BatchItemResult<undefined>[]> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      subscription.unsubscribe();
      reject(signal.reason);
    };
    const subscription = from(transactions)
      .pipe(dispatchTo(destination, options), toArray())
      .subscribe({
        next: (receipts) => {
          signal.removeEventListener('abort', onAbort);
          resolve(results(transactions, receipts));
        },
        error: (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function results<O>(
  transactions: readonly Transaction<O>[],
  receipts: readonly DispatchReceipt<O>[],
): BatchItemResult<undefined>[] {
  const failed = new Map<Transaction<O>, unknown>();
  for (const receipt of receipts) {
    for (const failure of receipt.failed) failed.set(failure.transaction, failure.error);
  }
  return transactions.map((transaction) =>
    failed.has(transaction)
      ? {
          ok: false,
          error: new RetryLaterError(
            republishDelay,
            `not published: ${describeError(failed.get(transaction))}`,
            { cause: failed.get(transaction) },
          ),
        }
      : { ok: true },
  );
}
