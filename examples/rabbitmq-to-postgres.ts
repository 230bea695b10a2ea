/**
 * A two-stage pipeline over real brokers, one distributed trace per order:
 *
 *   RabbitMQ queue ──▶ stage 1 "price-orders": enrich through a Service, dispatch ──▶ PostgreSQL
 *   PostgreSQL table ──▶ stage 2 "ship-orders"
 *
 * Stage 1 is a hybrid task: its `process` returns the dispatcher's `send`, so an order leaves
 * RabbitMQ only once PostgreSQL has its enriched copy. Each order's trace runs from the RabbitMQ
 * message through stage 1 into the row and on through stage 2; the example prints one.
 *
 * Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and PostgreSQL on 127.0.0.1:5432 (database
 * `test`, trust auth). Run: npx tsx examples/rabbitmq-to-postgres.ts [orders]
 */
import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { lastValueFrom, merge, Subject, tap, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  type Service,
  type Transaction,
} from '../lib/index.js';
import { PostgresConnector } from '../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../lib/connectors/rabbitmq/index.js';
import { setupTelemetry } from '../lib/telemetry/index.js';

interface Order {
  readonly id: number;
  readonly sku: string;
  readonly quantity: number;
}

interface PricedOrder extends Order {
  readonly unitCents: number;
  readonly totalCents: number;
}

/** A Service owns a protocol (here, a pretend pricing API) and is shared by tasks. */
class PricingService implements Service {
  private readonly prices = new Map([
    ['sku-1', 499],
    ['sku-2', 1250],
    ['sku-3', 99],
  ]);

  async priceOf(sku: string, signal: AbortSignal): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    signal.throwIfAborted();
    const price = this.prices.get(sku);
    if (price === undefined) throw new Error(`no price for ${sku}`);
    return price;
  }

  close(): void {
    this.prices.clear();
  }
}

const count = Number(process.argv[2] ?? 20);
const run = randomBytes(3).toString('hex');
const telemetry = setupTelemetry({
  resource: { serviceName: 'shop' },
  traces: { exporters: ['memory'], processor: 'simple' },
  metrics: { enabled: false },
  logs: { level: 'warn', format: 'pretty', sinks: ['console'] },
});

const inbox = new RabbitmqConnector<Order>({
  connection: { url: 'amqp://guest:guest@127.0.0.1:5672', connectionName: `example-${run}` },
  queue: `example.orders.${run}`,
});
const shipments = new PostgresConnector<PricedOrder>({
  connection: { url: 'postgres://postgres@127.0.0.1:5432/test', applicationName: `example-${run}` },
  table: `example_shipments_${run}`,
  fetchWait: '200ms',
});
await shipments.migrate();

// Something upstream publishes orders to RabbitMQ.
await inbox.dispatch(
  Array.from({ length: count }, (_, n) =>
    createTransaction<Order>(
      { id: n + 1, sku: `sku-${(n % 3) + 1}`, quantity: (n % 4) + 1 },
      { id: `order-${n + 1}` },
    ),
  ),
);

const pricing = new PricingService();
const outbox = createDispatcher(shipments, { batch: 50, maxWait: '20ms' });
const priceOrders = consumerTask({
  name: 'price-orders',
  services: { pricing },
  process: async (tx: Transaction<Order>, { services, signal }) => {
    const unitCents = await services.pricing.priceOf(tx.payload.sku, signal);
    const priced = { ...tx.payload, unitCents, totalCents: unitCents * tx.payload.quantity };
    return lastValueFrom(outbox.send(createTransaction(priced, { id: tx.id })));
  },
});
const shipOrders = consumerTask({
  name: 'ship-orders',
  process: (tx: Transaction<PricedOrder>) => `shipped ${tx.id} (${tx.payload.totalCents} cents)`,
});

const stop$ = new Subject<void>();
const streaming = {
  loop: { mode: 'continuous' as const, concurrency: { value: 8 }, streaming: true },
};
let shipped = 0;
const outcomes = await lastValueFrom(
  merge(
    consume(inbox, priceOrders, streaming, { stop$ }),
    consume(shipments, shipOrders, streaming, { stop$ }).pipe(
      // Both stages stop gracefully once every order was shipped.
      tap((outcome) => outcome.status === 'success' && ++shipped === count && stop$.next()),
    ),
  ).pipe(toArray()),
);
await Promise.all([inbox.close(), shipments.close()]);
pricing.close();

const memory = telemetry.spanExporters.find((exporter) => exporter instanceof InMemorySpanExporter);
const spans = memory instanceof InMemorySpanExporter ? memory.getFinishedSpans() : [];
await telemetry.shutdown();

console.log(`${count} orders priced and shipped; ${outcomes.length} outcomes over both stages`);
const shipSpan = spans.find((span) => span.name === 'process ship-orders');
if (shipSpan !== undefined) {
  const traceId = shipSpan.spanContext().traceId;
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
  const children = (parent: string | undefined): ReadableSpan[] =>
    inTrace.filter((span) => span.parentSpanContext?.spanId === parent);
  const roots = inTrace.filter(
    (span) =>
      !inTrace.some((other) => other.spanContext().spanId === span.parentSpanContext?.spanId),
  );
  const print = (span: ReadableSpan, depth: number): void => {
    console.log(`${'  '.repeat(depth)}${span.name}`);
    for (const child of children(span.spanContext().spanId)) print(child, depth + 1);
  };
  console.log(`\none order's trace (${traceId}), across RabbitMQ and PostgreSQL:`);
  for (const root of roots) print(root, 1);
}
