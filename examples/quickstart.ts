/**
 * `npm start`: a real pipeline on the embedded memory connector, run as a service with
 * `runTask`. 20 000 orders flow through a consumer task at concurrency 32; some orders are
 * invalid (a business error handled by onException), some hit a flaky downstream (retried with
 * backoff). A live progress line on a terminal (a JSON summary otherwise), then the
 * settlements. Ctrl-C stops it gracefully.
 */
import log from 'loglevel';
import {
  consume,
  consumerTask,
  MemoryConnector,
  NonRetryableError,
  type Transaction,
} from '../lib/index.js';
import { reportProgress } from '../lib/cli/index.js';
import { defineTask, runTask } from '../lib/runner/index.js';

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

const chargeOrders = consumerTask({
  name: 'charge-orders',
  process: (tx: Transaction<Order>, { signal }) => {
    if (tx.payload.amount < 0)
      throw new NonRetryableError(`order ${tx.payload.id}: negative amount`);
    return chargeCard(tx.payload, signal);
  },
  onException: (tx, error) => ({ parked: tx.id, reason: error.message }),
});

// Each failed attempt is logged (with its error) on the task's logger; the summary counts them
// here instead. examples/observability.ts shows the logs as JSON with trace ids.
log.getLogger('ergon.charge-orders').setLevel('error');
log.getLogger('ergon.runner').setLevel('warn');

const connector = new MemoryConnector({ source: orders(20_000) });

const task = defineTask({
  name: 'charge-orders',
  connectors: { orders: () => connector },
  run: ({ connectors, stop$ }) =>
    consume(
      connectors.orders,
      chargeOrders,
      {
        loop: { mode: 'continuous', concurrency: { value: 32 } },
        process: { retry: { maxAttempts: 3, backoff: '5ms', timeout: '1s' } },
      },
      { stop$ },
    ).pipe(reportProgress({ stream: process.stdout })),
});

const code = await runTask(task);
console.log('settlements:', connector.counts);
process.exitCode = code;
