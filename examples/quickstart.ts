/**
 * `npm start`: a real pipeline on the embedded memory connector. 20 000 orders flow through a
 * consumer task at concurrency 32; some orders are invalid (a business error handled by
 * onException), some hit a flaky downstream (retried with backoff). Prints a summary.
 */
import log from 'loglevel';
import { lastValueFrom, reduce } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  NonRetryableError,
  type OutcomeStatus,
  type Transaction,
} from '../lib/index.js';

interface Order {
  readonly id: number;
  readonly amount: number;
}

function* orders(count: number): Generator<Order> {
  for (let id = 1; id <= count; id++) yield { id, amount: id % 97 === 0 ? -1 : (id * 7) % 500 };
}

let flaky = 0;
const chargeCard = async (order: Order, signal: AbortSignal): Promise<string> => {
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
  if (++flaky % 50 === 0) throw new Error('payment gateway busy');
  return `receipt-${order.id}`;
};

const task = consumerTask({
  name: 'charge-orders',
  process: (tx: Transaction<Order>, { signal }) => {
    if (tx.payload.amount < 0)
      throw new NonRetryableError(`order ${tx.payload.id}: negative amount`);
    return chargeCard(tx.payload, signal);
  },
  onException: (tx, error) => ({ parked: tx.id, reason: error.message }),
});

// Each failed attempt is logged (with its error) on the task's logger; here the summary below
// counts them instead. examples/observability.ts shows the logs as JSON with trace ids.
log.getLogger('ergon.charge-orders').setLevel('error');

const connector = new MemoryConnector({ source: orders(20_000), record: false });
const started = performance.now();
const byStatus = await lastValueFrom(
  consume(connector, task, {
    loop: { mode: 'continuous', concurrency: { value: 32 } },
    process: { retry: { maxAttempts: 3, backoff: '5ms', timeout: '1s' } },
  }).pipe(
    reduce(
      (counts, outcome) => ({ ...counts, [outcome.status]: (counts[outcome.status] ?? 0) + 1 }),
      {} as Partial<Record<OutcomeStatus, number>>,
    ),
  ),
);
const seconds = (performance.now() - started) / 1000;
const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);

console.log(
  `charge-orders: ${total} transactions in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} tx/s)`,
);
console.log('outcomes:    ', byStatus);
console.log('settlements: ', connector.counts);
