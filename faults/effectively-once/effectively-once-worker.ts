/**
 * A worker of the effectively-once fault row: consumes the inbound RabbitMQ queue through
 * `transactional(…, { inbox, outbox })` (one effect row per transaction, one outbound
 * transaction through the outbox) and relays the outbox to the outbound RabbitMQ queue,
 * until SIGTERM (or the SIGKILL the fault sends).
 *
 * Usage: node --import tsx effectively-once-worker.ts <json settings>
 * Prints `ready` once both loops run.
 */
import pg from 'pg';
import { merge, Subject } from 'rxjs';
import { createTransaction, type Transaction } from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { inbox, relayOutbox, transactional } from '../../lib/effectively-once/index.js';

export interface EffectivelyOnceWorkerSettings {
  readonly postgresUrl: string;
  readonly rabbitmqUrl: string;
  readonly connectionName: string;
  readonly inQueue: string;
  readonly outQueue: string;
  readonly effects: string;
  readonly inbox: string;
  readonly outbox: string;
  readonly concurrency: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as EffectivelyOnceWorkerSettings;
const connection = { url: settings.rabbitmqUrl, connectionName: settings.connectionName };
const pool = new pg.Pool({ connectionString: settings.postgresUrl, max: settings.concurrency + 4 });
const seen = inbox(pool, { table: settings.inbox, retention: '1h' });
const outbox = new PostgresConnector<{ of: string }>({
  connection: { url: settings.postgresUrl },
  table: settings.outbox,
  lease: 3000,
  fetchWait: 200,
});
const inbound = new RabbitmqConnector<{ n: number }>({
  connection,
  queue: settings.inQueue,
  prefetch: settings.concurrency,
});
const outbound = new RabbitmqConnector<{ of: string }>({ connection, queue: settings.outQueue });
const stop$ = new Subject<void>();
process.once('SIGTERM', () => stop$.next());

const consumer = transactional(inbound, { inbox: seen, outbox });
merge(
  consumer.consume(
    {
      process: async (tx: Transaction<{ n: number }>, { db, outbox: out }) => {
        await db.query(`INSERT INTO ${settings.effects} (id, pid) VALUES ($1, $2)`, [
          tx.id,
          process.pid,
        ]);
        await out.send([createTransaction({ of: tx.id }, { id: `out-${tx.id}` })]);
      },
    },
    {
      loop: { mode: 'continuous', concurrency: { value: settings.concurrency }, streaming: true },
      fetch: {
        empty: { backoff: 10, backoffCap: 100 },
        retry: { maxAttempts: 1000, backoff: 100 },
      },
      process: { retry: { maxAttempts: 5, backoff: 50 } },
    },
    { stop$ },
  ),
  relayOutbox(
    outbox,
    outbound,
    {
      loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true },
      fetch: { batch: { size: 100 }, empty: { backoff: 10, backoffCap: 100 } },
      process: { batch: { size: 100, maxWait: 0 } },
    },
    { stop$, dispatch: { retry: { maxAttempts: 20, backoff: 100 } } },
  ),
).subscribe({
  error: (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
  complete: () => {
    void Promise.all([consumer.close(), inbound.close(), outbound.close(), outbox.close()])
      .then(() => pool.end())
      .then(() => process.exit(0));
  },
});
console.log('ready');
