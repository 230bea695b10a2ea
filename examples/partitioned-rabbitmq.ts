/**
 * Order per key across worker processes on RabbitMQ: account events are dispatched through
 * `partitionedConnector` to 4 partition queues by their account (`metadata.key`), and a task
 * run by `runTask` with 2 worker processes applies them. Worker 1 consumes partitions 0 and 2,
 * worker 2 partitions 1 and 3 (`workerPartitions`), so each account is applied by one worker,
 * one event at a time, in the order it was dispatched — retries included. The partition
 * queues are declared with single-active-consumer, so a worker started twice by mistake
 * would wait as a standby instead of breaking the order.
 *
 * Needs RabbitMQ on 127.0.0.1:5672 (guest/guest). Run: npx tsx examples/partitioned-rabbitmq.ts
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import {
  consume,
  consumerTask,
  createTransaction,
  partitionedConnector,
  transactionKey,
  workerPartitions,
  type Transaction,
} from '../lib/index.js';
import { RabbitmqConnector, RabbitmqService } from '../lib/connectors/rabbitmq/index.js';
import { defineTask, runTask, type ResourceContext } from '../lib/runner/index.js';

interface AccountEvent {
  readonly account: string;
  readonly step: number;
  readonly amount: number;
}

const url = 'amqp://guest:guest@127.0.0.1:5672/';
const partitionCount = 4;
// The primary picks the queue names; the forked workers inherit them through the environment.
const base = (process.env['EXAMPLE_QUEUE_BASE'] ??=
  `example.accounts.${randomBytes(3).toString('hex')}`);
const accounts = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara', 'edsger', 'frances'];
const steps = 10;

/** The same partition list in every process: partition p is queue `<base>.p<p>`. */
function partitions(service: RabbitmqService): RabbitmqConnector<AccountEvent>[] {
  return Array.from(
    { length: partitionCount },
    (_, p) =>
      new RabbitmqConnector<AccountEvent>(
        { queue: `${base}.p${p}`, singleActiveConsumer: true, fetchWait: '500ms' },
        { service },
      ),
  );
}

if (cluster.isPrimary) {
  // The producer: one batch, interleaved across accounts, in order within each account.
  const service = new RabbitmqService({ url, connectionName: 'partitioned example producer' });
  const producer = partitionedConnector({ partitions: partitions(service), consume: [] });
  const events = Array.from({ length: steps }, (_, step) =>
    accounts.map((account) =>
      createTransaction<AccountEvent>(
        { account, step, amount: step + 1 },
        { metadata: { key: account } },
      ),
    ),
  ).flat();
  const report = await producer.dispatch(events);
  console.log(`dispatched ${events.length - report.failed.length} events to ${base}.p0…p3`);
  await producer.close();
  await service.close();
}

const task = defineTask({
  name: 'apply-account-events',
  workers: 2,
  connectors: {
    events: ({ workerId, workers }: ResourceContext) => {
      const service = new RabbitmqService({
        url,
        connectionName: `partitioned example ${workerId}`,
      });
      const connector = partitionedConnector({
        partitions: partitions(service),
        consume: workerPartitions(partitionCount, { workerId, workers }),
      });
      // The partitions share the worker's service: close it after them.
      const closePartitions = connector.close.bind(connector);
      return Object.assign(connector, {
        close: async () => {
          await closePartitions();
          await service.close();
        },
      });
    },
  },
  run: ({ connectors, workerId, workers, stop$ }) => {
    const applied = new Map<string, number[]>();
    const failedOnce = new Set<string>();
    const apply = consumerTask({
      key: (tx: Transaction<AccountEvent>) => transactionKey(tx),
      process: async (tx: Transaction<AccountEvent>) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        if (Math.random() < 0.1 && !failedOnce.has(tx.id)) {
          failedOnce.add(tx.id);
          throw new Error('ledger busy'); // retried; the account's next event waits
        }
        const { account, step } = tx.payload;
        applied.set(account, [...(applied.get(account) ?? []), step]);
      },
    });
    const partitionsOfMine = workerPartitions(partitionCount, { workerId, workers });
    // Not streaming: the worker ends after a fetch finds its partitions empty.
    return new Promise<void>((resolve, reject) => {
      consume(
        connectors.events,
        apply,
        {
          loop: { mode: 'continuous', concurrency: { value: 8 }, keyConcurrency: { value: 1 } },
          process: { retry: { maxAttempts: 3, backoff: '10ms' } },
        },
        { stop$ },
      ).subscribe({
        error: reject,
        complete: () => {
          const inOrder = [...applied.values()].every(
            (history) => history.join() === Array.from({ length: steps }, (_, s) => s).join(),
          );
          console.log(
            `worker ${workerId} (partitions ${partitionsOfMine.join(', ')}): ${[...applied.keys()].sort().join(', ')}; ` +
              `${failedOnce.size} events retried; every account in order: ${inOrder}`,
          );
          if (inOrder) resolve();
          else reject(new Error('an account was applied out of order'));
        },
      });
    });
  },
});

process.exitCode = await runTask(task);

if (cluster.isPrimary) {
  // Tidy up: the example's queues, with the dead-letter queues and exchanges they derive.
  const rabbit = await connect(url);
  const channel = await rabbit.createChannel();
  for (let p = 0; p < partitionCount; p++) {
    await channel.deleteQueue(`${base}.p${p}`);
    await channel.deleteQueue(`${base}.p${p}.dlq`);
    await channel.deleteExchange(`${base}.p${p}.dlx`);
  }
  await rabbit.close();
}
