/**
 * Effectively-once across two brokers and a database:
 *
 *   RabbitMQ "orders" ──▶ task "book-orders": INSERT the order row (ctx.db)
 *                                             + ctx.outbox.send(shipment)   ── one PostgreSQL transaction
 *   outbox table ──▶ relayOutbox ──▶ RabbitMQ "shipments"
 *
 * The inbox records each order's id in the same database transaction, so an order the broker
 * delivers twice (here: published twice, as after an ack lost to a dropped connection) is
 * written once and shipped once. The shipments queue is at-least-once (a relay crash between
 * publish and ack publishes again, with the same id): its consumer dedupes by id.
 *
 * Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and PostgreSQL on 127.0.0.1:5432 (database
 * `test`, trust auth). Run: npx tsx examples/effectively-once.ts [orders]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { filter, lastValueFrom, merge, Subject, take, tap, toArray } from 'rxjs';
import { createTransaction, type Transaction } from '../lib/index.js';
import { PostgresConnector } from '../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../lib/connectors/rabbitmq/index.js';
import { inbox, relayOutbox, transactional } from '../lib/effectively-once/index.js';

interface Order {
  readonly sku: string;
  readonly quantity: number;
}
interface Shipment {
  readonly order: string;
  readonly sku: string;
}

const count = Number(process.argv[2] ?? 20);
const run = randomBytes(3).toString('hex');
const url = 'postgres://postgres@127.0.0.1:5432/test';
const amqp = { url: 'amqp://guest:guest@127.0.0.1:5672', connectionName: `example-${run}` };

const pool = new pg.Pool({ connectionString: url, max: 12 });
const ordersTable = `example_orders_${run}`;
await pool.query(`CREATE TABLE ${ordersTable} (id text PRIMARY KEY, sku text, quantity int)`);
const seen = inbox(pool, { table: `example_inbox_${run}`, retention: '7d' });
await seen.migrate();
const outbox = new PostgresConnector<Shipment>({
  connection: { url },
  table: `example_outbox_${run}`,
  fetchWait: '200ms',
});
await outbox.migrate();
const orders = new RabbitmqConnector<Order>({ connection: amqp, queue: `example.orders.${run}` });
const shipments = new RabbitmqConnector<Shipment>({
  connection: amqp,
  queue: `example.shipments.${run}`,
});

// Upstream publishes the orders, and order-1 a second time.
const published = Array.from({ length: count }, (_, n) =>
  createTransaction<Order>(
    { sku: `sku-${(n % 3) + 1}`, quantity: n + 1 },
    { id: `order-${n + 1}` },
  ),
);
await orders.dispatch(published);
await orders.dispatch(published.slice(0, 1));

const stop$ = new Subject<void>();
const streaming = {
  loop: { mode: 'continuous' as const, concurrency: { value: 8 }, streaming: true },
};
const booking = transactional(orders, { inbox: seen, outbox });
await lastValueFrom(
  merge(
    booking.consume(
      {
        name: 'book-orders',
        process: async (tx: Transaction<Order>, { db, outbox: out }) => {
          await db.query(`INSERT INTO ${ordersTable} VALUES ($1, $2, $3)`, [
            tx.id,
            tx.payload.sku,
            tx.payload.quantity,
          ]);
          await out.send([
            createTransaction<Shipment>(
              { order: tx.id, sku: tx.payload.sku },
              { id: `ship-${tx.id}`, metadata: { key: tx.payload.sku } },
            ),
          ]);
        },
      },
      streaming,
      { stop$ },
    ),
    relayOutbox(outbox, shipments, undefined, { stop$ }).pipe(
      filter((outcome) => outcome.status === 'success'), // a refused publish is tried again
      take(count),
      tap({ complete: () => stop$.next() }),
    ),
  ),
  { defaultValue: undefined },
);

// The consumer of the shipments queue dedupes by id (it could use an inbox of its own).
const received: Transaction<Shipment>[] = [];
const distinct = new Set<string>();
while (distinct.size < count) {
  const batch = await lastValueFrom(shipments.fetch({ size: 50, extra: {} }).pipe(toArray()));
  if (batch.length === 0) break; // fetchWait passed without a message: nothing more is coming
  for (const tx of batch) {
    await shipments.settle(tx, { type: 'ack' });
    received.push(tx);
    distinct.add(tx.id);
  }
}

const rows = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ordersTable}`);
console.log(`${count} orders, ${count + 1} deliveries (order-1 twice)`);
console.log(`order rows written: ${rows.rows[0]?.n}`);
console.log(`shipments published: ${received.length}, distinct ids: ${distinct.size}`);

await booking.close();
await Promise.all([orders.close(), shipments.close(), outbox.close()]);
await pool.query(
  `DROP TABLE ${ordersTable}, example_inbox_${run}, example_outbox_${run}, example_outbox_${run}_dead`,
);
await pool.end();
