/**
 * Dead letters, looked at and sent back: orders for an unknown product fail and are
 * dead-lettered by a PostgreSQL queue; once the catalogue knows the product, the dead letters
 * are listed, redriven (same ids, same trace, a fresh delivery count) and processed.
 * The same operations from a shell: `ergon dlq list|show|redrive|purge <task module>`.
 *
 * Run: npx tsx examples/dlq-redrive.ts   (needs PostgreSQL on 127.0.0.1)
 */
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction, type Transaction } from '../lib/index.js';
import { PostgresConnector, type QueueMetadata } from '../lib/connectors/postgres/index.js';

interface Order {
  readonly id: number;
  readonly sku: string;
}

const catalogue = new Set(['A-1', 'B-2']);
const orders = new PostgresConnector<Order>({
  connection: { url: 'postgres://postgres@127.0.0.1:5432/test' },
  table: `orders_dlq_example_${process.pid}`,
  fetchWait: 50,
});
await orders.migrate();

const ship = consumerTask({
  process: (tx: Transaction<Order>) => {
    if (!catalogue.has(tx.payload.sku)) throw new Error(`unknown sku ${tx.payload.sku}`);
    return `shipped ${tx.payload.id}`;
  },
});

async function drain(count: number): Promise<string[]> {
  const outcomes = await lastValueFrom(
    consume(orders, ship, { loop: { limit: count } }).pipe(toArray()),
  );
  return outcomes.map((outcome) => `${outcome.transaction.id} ${outcome.status}`);
}

const trace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
await orders.dispatch(
  [
    { id: 1, sku: 'A-1' },
    { id: 2, sku: 'Z-9' },
    { id: 3, sku: 'B-2' },
    { id: 4, sku: 'Z-9' },
  ].map((order) =>
    createTransaction(order, { id: `order-${order.id}`, metadata: { traceparent: trace } }),
  ),
);
console.log(`first run: ${(await drain(4)).join(', ')}`);

const dead = orders.deadLetters();
for (const letter of await dead.list({ filter: 'unknown sku' })) {
  console.log(
    `dead letter ${letter.id}: ${letter.error} (stage ${letter.stage}, ${letter.deliveryCount} delivery)`,
  );
}

catalogue.add('Z-9'); // the fix is deployed
const { redriven } = await dead.redrive({ filter: 'unknown sku' });
console.log(`redriven: ${redriven.join(', ')}`);

const again = await lastValueFrom(
  consume(orders, ship, { loop: { limit: redriven.length } }).pipe(toArray()),
);
for (const outcome of again) {
  const metadata = outcome.transaction.metadata as QueueMetadata;
  console.log(
    `${outcome.transaction.id} ${outcome.status}, delivery ${metadata.deliveryCount}, same trace: ${metadata.traceparent === trace}`,
  );
}
console.log(`dead letters left: ${(await dead.list()).length}`);

await orders.service.query({
  text: `DROP TABLE ${orders.config.table}, ${orders.config.deadTable}`,
});
await orders.close();
