/**
 * A worker process of faults/engine/durable-delays.fault.ts. Argument: JSON
 * {@link DurableDelayWorkerOptions}. Consumes `name` on `kind`: a transaction on its first
 * delivery is handed back with `RetryLaterError(delay)` (one `released <id>` line once its
 * settlement is durable), a later delivery is acked (one `done <id>` line). Runs until killed,
 * or in `drain` mode until `expected` transactions are done.
 */
import { filter, take } from 'rxjs';
import {
  consume,
  consumerTask,
  deliveryCountOf,
  RetryLaterError,
  type Connector,
  type Transaction,
} from '../../../lib/index.js';
import { durableDelayConnector, type DurableDelayKind } from './durable-delay-connectors.js';

export interface DurableDelayWorkerOptions {
  readonly kind: DurableDelayKind;
  readonly name: string;
  readonly delay: number;
  /** In drain mode: stop once this many transactions were done. */
  readonly expected: number | null;
}

const options = JSON.parse(process.argv[2] ?? '{}') as DurableDelayWorkerOptions;
const connector: Connector<{ n: number }> = await durableDelayConnector(options.kind, options.name);
const task = consumerTask({
  process: (tx: Transaction<{ n: number }>) => {
    if (deliveryCountOf(tx) === 1) throw new RetryLaterError(options.delay);
    return tx.payload.n;
  },
});
let done = 0;
consume(connector, task, {
  loop: { mode: 'continuous', concurrency: { value: 100 }, streaming: true },
  fetch: { empty: { backoff: 50, backoffMultiplier: 1 } },
})
  .pipe(
    filter((outcome) => {
      if (outcome.status === 'released' && outcome.reason === 'retryLater') {
        process.stdout.write(`released ${outcome.transaction.payload.n}\n`);
      } else if (outcome.status === 'success') {
        done++;
        process.stdout.write(`done ${outcome.transaction.payload.n}\n`);
      } else {
        process.stdout.write(`other ${outcome.status} ${outcome.transaction.payload.n}\n`);
      }
      return options.expected !== null && done >= options.expected;
    }),
    take(1),
  )
  .subscribe({
    complete: () => {
      void Promise.resolve(connector.close?.()).then(() => process.exit(0));
    },
    error: (error: unknown) => {
      process.stderr.write(`worker failed: ${String(error)}\n`);
      process.exit(1);
    },
  });
