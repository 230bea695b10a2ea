/**
 * Kafka: order events keyed by customer go to a topic of 4 partitions (the record key is
 * `metadata.key`, so one customer stays on one partition); a consumer group applies them in
 * order per customer, many customers side by side, and a poisoned event lands in the
 * dead-letter topic with its error. Offsets are committed only up to what was settled.
 * Needs Kafka on 127.0.0.1:9092 (scripts/services/kafka.sh) or KAFKA_BROKERS.
 * Run: npx tsx examples/kafka-orders.ts
 */
import { randomBytes } from 'node:crypto';
import { Subject } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  NonRetryableError,
  type Transaction,
} from '../lib/index.js';
import { KafkaConnector } from '../lib/connectors/kafka/index.js';

interface OrderEvent {
  readonly customer: string;
  readonly step: number;
  readonly kind: 'created' | 'paid' | 'shipped';
}

const kinds = ['created', 'paid', 'shipped'] as const;
const customers = ['ada', 'grace', 'linus', 'margaret', 'ken'];
const topic = `example-orders-${randomBytes(4).toString('hex')}`;

const orders = new KafkaConnector<OrderEvent>({
  brokers: process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092',
  topic,
  partitions: 4,
  fetchWait: '200ms',
});

// Producer side: idempotent, acks=all; the key keeps a customer's events on one partition.
const events = kinds.flatMap((kind, step) =>
  customers.map((customer) =>
    createTransaction<OrderEvent>({ customer, step, kind }, { metadata: { key: customer } }),
  ),
);
const report = await orders.dispatch(events);
console.log(`dispatched ${events.length - report.failed.length} events to ${topic}`);

// Consumer side: in order per customer (the key), up to 8 customers at a time.
const applied = new Map<string, OrderEvent['kind'][]>();
const stop$ = new Subject<void>();
let settled = 0;
consume(
  orders,
  consumerTask({
    key: (tx: Transaction<OrderEvent>) => tx.metadata['key'] as string,
    process: async (tx: Transaction<OrderEvent>) => {
      const { customer, kind } = tx.payload;
      if (customer === 'ken' && kind === 'paid') throw new NonRetryableError('card declined');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      applied.set(customer, [...(applied.get(customer) ?? []), kind]);
    },
  }),
  { loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true } },
  { stop$ },
).subscribe({
  next: (outcome) => {
    if (outcome.status === 'failed') {
      console.log(
        `${outcome.transaction.id.slice(0, 8)} dead-lettered to ${orders.deadLetterTopic}: ${outcome.error.message}`,
      );
    }
    if (++settled === events.length) stop$.next();
  },
  complete: () => {
    for (const customer of customers)
      console.log(`${customer}: ${(applied.get(customer) ?? []).join(' → ')}`);
    const inOrder = [...applied.values()].every((seen) =>
      seen.every(
        (kind, i) =>
          i === 0 || kinds.indexOf(kind) > kinds.indexOf(seen[i - 1] as OrderEvent['kind']),
      ),
    );
    console.log(`every customer in order: ${inOrder}`);
    void orders.close();
  },
});
