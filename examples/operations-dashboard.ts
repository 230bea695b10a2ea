/**
 * A task with everything operations looks at: the live dashboard on http://127.0.0.1:9400
 * (throughput, latency, in flight vs the adaptive limit, the queue depth, the last failures
 * with their trace ids linked to Jaeger, the dead letters with redrive and purge buttons),
 * `/healthz` and `/readyz`, and the run's watchdog. Orders arrive continuously; one in eleven
 * is declined by the card processor and dead-lettered — redriven from the dashboard, it goes
 * through (the customer fixed their card) — and the processor sometimes says "too many
 * requests".
 *
 * Run: npx tsx examples/operations-dashboard.ts [seconds] [port]
 *      (default: until Ctrl-C, port 9400), then open http://127.0.0.1:9400/
 */
import { interval, map, takeUntil, timer } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  RateLimitedError,
  redriveOfKey,
  TransactionError,
  type Transaction,
} from '../lib/index.js';
import { defineTask, runTask } from '../lib/runner/index.js';

const seconds = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
const port = Number(process.argv[3] ?? '9400');

interface Order {
  readonly n: number;
  readonly amount: number;
}

const throttled = new Set<number>();

/**
 * The card processor: 5–45 ms per charge, declines one order in eleven (unless it is a
 * redrive), and says "too many requests" (retry after 200 ms) the first time it sees one
 * order in 397.
 */
async function charge(order: Order, redrive: boolean, signal: AbortSignal): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 5 + (order.n % 9) * 5));
  signal.throwIfAborted();
  if (order.n % 11 === 10 && !redrive) {
    // The processor answered: a business failure (it does not make the limit shrink).
    throw new TransactionError(`card declined for order ${order.n}`, { category: 'business' });
  }
  if (order.n % 397 === 396 && !throttled.has(order.n)) {
    throttled.add(order.n);
    throw new RateLimitedError(200);
  }
  return `charged ${order.amount}`;
}

const chargeOrders = consumerTask({
  name: 'charge-orders',
  process: (tx: Transaction<Order>, { signal }) =>
    charge(tx.payload, tx.metadata[redriveOfKey] !== undefined, signal),
});

const orders = new MemoryConnector<Order>({ idPrefix: 'order-' });

export const task = defineTask({
  name: 'orders',
  connectors: { orders: () => orders },
  dashboard: { port, traceLink: 'http://localhost:16686/trace/{traceId}' },
  supervision: { http: { port: 0 } },
  shutdownGrace: '5s',
  run: ({ connectors, stop$ }) => {
    // About 60 orders a second, in bursts.
    let n = 0;
    interval(100)
      .pipe(
        map(() => Array.from({ length: 3 + (n % 7) }, () => ({ n: n++, amount: 10 + (n % 50) }))),
        takeUntil(seconds === undefined ? stop$ : timer(seconds * 1000)),
      )
      .subscribe((batch) => connectors.orders.feed(...batch));
    const stop = seconds === undefined ? stop$ : timer(seconds * 1000 + 500);
    return consume(
      connectors.orders,
      chargeOrders,
      {
        loop: {
          mode: 'continuous',
          streaming: true,
          concurrency: { value: 4, adaptive: 'aimd', min: 2, max: 32 },
        },
        fetch: { empty: { backoff: 20, backoffCap: 200 } },
      },
      { stop$: stop },
    );
  },
});

process.exitCode = await runTask(task);
