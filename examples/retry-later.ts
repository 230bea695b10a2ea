/**
 * Durable delays on a PostgreSQL queue: payments arrive before the invoices they pay. A
 * payment whose invoice is not booked yet is handed back with `RetryLaterError`: the row waits
 * in the table (its `available_at`), holding no consumer slot, and comes back after the delay;
 * meanwhile the other payments run at full concurrency. Two more things ride on `dispatch`:
 * an audit payment scheduled with `metadata.notBefore`, and an urgent one with
 * `metadata.priority` that overtakes the queue.
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`, trust auth).
 * Run: npx tsx examples/retry-later.ts [payments]
 */
import { randomBytes } from 'node:crypto';
import { lastValueFrom, Subject, tap, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  deliveryCountOf,
  RetryLaterError,
  type Transaction,
} from '../lib/index.js';
import { PostgresConnector } from '../lib/connectors/postgres/index.js';

interface Payment {
  readonly invoice: string;
  readonly cents: number;
}

const count = Number(process.argv[2] ?? 200);
const queue = new PostgresConnector<Payment>({
  connection: { url: 'postgres://postgres@127.0.0.1:5432/test' },
  table: `payments_${randomBytes(4).toString('hex')}`,
  fetchWait: 100,
  // Each hand-back is a delivery, and a payment may wait for its invoice a few times (every
  // 250 ms for up to 1.5 s here): the default 5 would bury the late ones as poison.
  maxDeliveries: 20,
});
await queue.migrate();

// Every tenth payment's invoice is booked only 1.5 s from now.
const booked = new Set<string>();
const late = new Set<string>();
for (let n = 0; n < count; n++) (n % 10 === 0 ? late : booked).add(`inv-${n}`);
const bookedAt = Date.now() + 1500;
setTimeout(() => late.forEach((invoice) => booked.add(invoice)), 1500).unref();

const auditAt = Date.now() + 300;
await queue.dispatch([
  ...Array.from({ length: count }, (_, n) =>
    createTransaction({ invoice: `inv-${n}`, cents: 100 }),
  ),
  // Scheduled: not delivered before 300 ms from now.
  createTransaction({ invoice: 'audit', cents: 0 }, { metadata: { notBefore: new Date(auditAt) } }),
  // Urgent: claimed before everything else waiting.
  createTransaction({ invoice: 'urgent', cents: 1 }, { metadata: { priority: 9 } }),
]);
booked.add('audit').add('urgent');

const order: string[] = [];
/** Payments applied before they could be: a late invoice before its booking, the audit early. */
let early = 0;
let running = 0;
let peak = 0;
const task = consumerTask({
  name: 'apply-payments',
  process: async (tx: Transaction<Payment>) => {
    order.push(tx.payload.invoice);
    if (!booked.has(tx.payload.invoice)) {
      throw new RetryLaterError(250, `invoice ${tx.payload.invoice} not booked yet`);
    }
    const now = Date.now();
    if (
      (late.has(tx.payload.invoice) && now < bookedAt) ||
      (tx.payload.invoice === 'audit' && now < auditAt)
    ) {
      early++;
    }
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    return deliveryCountOf(tx);
  },
});

const stop = new Subject<void>();
let succeeded = 0;
const released: number[] = [];
const outcomes = await lastValueFrom(
  consume(
    queue,
    task,
    {
      loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true },
      fetch: { empty: { backoff: 25, backoffMultiplier: 1 } },
    },
    { stop$: stop },
  ).pipe(
    tap((outcome) => {
      if (outcome.status === 'released' && outcome.reason === 'retryLater') {
        released.push(outcome.delay ?? 0);
      }
      if (outcome.status === 'success' && ++succeeded === count + 2) stop.next();
    }),
    toArray(),
  ),
);
await queue.close();

console.log(`${succeeded} of ${count + 2} payments applied, ${outcomes.length} outcomes`);
console.log(
  `${released.length} payments handed back with RetryLaterError(${released[0] ?? 0} ms) while their invoice was missing`,
);
console.log(
  `applied too early (late invoice before its booking, audit before notBefore): ${early}`,
);
console.log(`at most ${peak} payments ran at once (concurrency 8)`);
console.log(`urgent (priority 9) claimed in the first fetch: ${order.indexOf('urgent') < 8}`);
