/**
 * The soak's worker process, deployed as a user would deploy a task: `runTask` runs it until
 * SIGTERM, then stops it gracefully. It consumes a RabbitMQ queue; its `process` handler fails
 * on 1 % of its attempts (retried) and otherwise sends the transaction to a PostgreSQL queue
 * table through a shared batching dispatcher, so a message leaves RabbitMQ only once its row is
 * committed (a hybrid task).
 *
 * It reports to the spec over the IPC channel (see {@link WorkerReport}): a sample of its own
 * resources every second, and its outcome tally when the run ended.
 *
 * Usage (with an IPC channel): node --import tsx soak-worker.ts <queue> <table>
 */
import log from 'loglevel';
import { tap } from 'rxjs';
import {
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  type Transaction,
} from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { defineTask, runTask } from '../../lib/runner/index.js';
import { FailureInjector } from './failure-injector.js';
import { OutcomeTally } from './outcome-tally.js';
import { ResourceSampler } from './resource-sampler.js';
import type { SoakMessage } from './soak-message.js';
import {
  SOAK_CONSUMER_POLICY,
  SOAK_DISPATCH_OPTIONS,
  SOAK_FAILURE_RATE,
  SOAK_POSTGRES_URL,
  soakQueueConfig,
} from './soak-settings.js';
import type { WorkerReport } from './worker-report.js';

const [queue, table] = process.argv.slice(2);
if (queue === undefined || table === undefined || process.send === undefined) {
  throw new Error('usage (with an IPC channel): soak-worker.ts <queue> <table>');
}
const send = process.send.bind(process);

/**
 * Sends a report to the spec. A send fails only when the IPC channel closed, that is when the
 * spec is gone: the `disconnect` handler below stops the worker then, so the report is dropped.
 */
function report(message: WorkerReport): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => send(message, undefined, {}, () => resolve()));
}

// An orphaned worker (its spec died) stops as a deployment would on a redeploy: gracefully.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));

const connectionName = 'ergon soak worker';
// One attempt in a hundred fails on purpose: the task logs errors only, not each retry.
const taskLogger = log.getLogger('ergon.soak');
taskLogger.setLevel('error');
const tally = new OutcomeTally();
const failures = new FailureInjector(SOAK_FAILURE_RATE);
const sampler = new ResourceSampler(
  () => tally.settled,
  (sample) => void report({ type: 'sample', sample }),
);
sampler.start(1000);

const soak = defineTask({
  name: 'soak',
  connectors: {
    inbox: async () => {
      const inbox = new RabbitmqConnector<SoakMessage>(soakQueueConfig(queue, connectionName));
      await inbox.declare();
      const connection = await inbox.service.connection();
      sampler.watch(connection);
      sampler.watch(connection.connection);
      return inbox;
    },
    ledger: async () => {
      const ledger = new PostgresConnector<SoakMessage>({
        connection: { url: SOAK_POSTGRES_URL, applicationName: connectionName },
        table,
      });
      await ledger.migrate();
      sampler.watch(ledger.service.pool);
      return ledger;
    },
  },
  policies: { consume: SOAK_CONSUMER_POLICY },
  shutdownGrace: '30s',
  run: ({ connectors, policies, stop$ }) => {
    const outbox = createDispatcher(connectors.ledger, SOAK_DISPATCH_OPTIONS, { name: 'ledger' });
    const task = consumerTask({
      name: 'soak',
      logger: taskLogger,
      process: (tx: Transaction<SoakMessage>) => {
        failures.strike(tx.id);
        return outbox.send(createTransaction(tx.payload, { id: tx.id }));
      },
    });
    return consume(connectors.inbox, task, policies.consume, { stop$ }).pipe(
      tap((outcome) => tally.count(outcome)),
    );
  },
  exit: async () => {
    sampler.stop();
    await report({
      type: 'tally',
      tally: {
        success: tally.of('success'),
        exception: tally.of('exception'),
        failed: tally.of('failed'),
        timeout: tally.of('timeout'),
        released: tally.of('released'),
        redelivered: tally.redelivered,
        injectedFailures: failures.injected,
      },
    });
  },
});

await runTask(soak, { exit: true });
