/**
 * SQS: a producer sends orders to a queue in batches of 10 (`SendMessageBatch`), a consumer
 * with 8 slots processes them. Order 13 is broken: it is dead-lettered to `<queue>-dlq` with
 * the error as message attributes, which the example reads back.
 *
 * Needs an SQS-compatible server on 127.0.0.1:9324 (scripts/services/elasticmq.sh).
 * Run: npx tsx examples/sqs-orders.ts [orders]
 */
import { DeleteQueueCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction, type Transaction } from '../lib/index.js';
import { SqsConnector } from '../lib/connectors/sqs/index.js';

interface Order {
  readonly order: number;
  readonly sku: string;
}

const count = Number(process.argv[2] ?? 100);
const queue = `orders-${randomBytes(4).toString('hex')}`;
const orders = new SqsConnector<Order>({
  queue,
  visibilityTimeout: '30s',
  fetchWait: '1s',
  connection: {
    endpoint: 'http://127.0.0.1:9324',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  },
});

const report = await orders.dispatch(
  Array.from({ length: count }, (_, order) =>
    createTransaction({ order, sku: `sku-${order % 7}` }, { id: `order-${order}` }),
  ),
);
console.log(`sent ${count - report.failed.length} of ${count} orders`);

const shipped: number[] = [];
const task = consumerTask({
  process: async (tx: Transaction<Order>) => {
    if (tx.payload.order === 13) throw new Error(`order 13: no such sku ${tx.payload.sku}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
    shipped.push(tx.payload.order);
  },
});
const outcomes = await lastValueFrom(
  consume(orders, task, { loop: { mode: 'continuous', concurrency: { value: 8 } } }).pipe(
    toArray(),
  ),
);
const statuses = outcomes.reduce<Record<string, number>>((counts, { status }) => {
  counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}, {});
// Sorted by status: the order outcomes arrive in varies from run to run.
console.log(`outcomes: ${JSON.stringify(Object.fromEntries(Object.entries(statuses).sort()))}`);

// Read the dead letter back with the plain SDK client the connector uses.
const { QueueUrl: dlq } = await orders.client.send(
  new GetQueueUrlCommand({ QueueName: `${queue}-dlq` }),
);
const dead = await orders.client.send(
  new ReceiveMessageCommand({ QueueUrl: dlq, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
);
for (const message of dead.Messages ?? []) {
  const attributes = message.MessageAttributes ?? {};
  console.log(
    `dead letter ${attributes['ergon-id']?.StringValue ?? '?'}: ${attributes['ergon-error']?.StringValue ?? '?'}`,
  );
}

for (const name of [queue, `${queue}-dlq`]) {
  const { QueueUrl } = await orders.client.send(new GetQueueUrlCommand({ QueueName: name }));
  await orders.client.send(new DeleteQueueCommand({ QueueUrl }));
}
await orders.close();
