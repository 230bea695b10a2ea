/**
 * A RabbitMQ → PostgreSQL pipeline: `consume` from a RabbitMQ queue filled beforehand (not
 * timed), each transaction written as a row of a PostgreSQL table, acked once written. Two
 * ways to write: `process` with one INSERT per transaction, or `processBatch` with one
 * multi-row INSERT (unnest of column arrays) per batch. Same queue contents, same pool of
 * connections, same concurrency; each run uses its own queue and table and drops them.
 */
import { connect } from 'amqplib';
import pg from 'pg';
import { consume, consumerTask, type BatchItemResult, type Transaction } from 'ergon-rx';
import { RabbitmqConnector } from 'ergon-rx/rabbitmq';
import type { BenchPayload } from './end-to-end.js';
import { rawRabbitmqProduce } from './rabbitmq.js';
import { secondsSince, type RunResult } from './run-result.js';
import { successes } from './successes.js';

const rabbitmqUrl = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const postgresUrl = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** One run of the pipeline. */
export interface BatchInsertRun {
  readonly count: number;
  /** Transactions in flight (RabbitMQ prefetch and `loop.concurrency.value`). */
  readonly concurrency: number;
  /** `per-transaction`: `process` with an INSERT each; else `processBatch` of this size. */
  readonly write: 'per-transaction' | { readonly batch: number; readonly maxWait: number };
  /** PostgreSQL connections. */
  readonly poolSize: number;
}

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

export async function ergonBatchInsert(run: BatchInsertRun): Promise<RunResult> {
  const queue = uniqueName('insert');
  const table = queue;
  const model = await connect(rabbitmqUrl);
  const setup = await model.createChannel();
  await setup.assertQueue(queue, { durable: true });
  await setup.close();
  await rawRabbitmqProduce(model, queue, run.count, 500);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: run.poolSize });
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, n integer NOT NULL)`);
  const connector = new RabbitmqConnector<BenchPayload>({
    connection: { url: rabbitmqUrl, connectionName: 'ergon bench' },
    queue,
    queueType: 'classic',
    deadLetter: false,
    prefetch: run.concurrency,
  });
  const task =
    run.write === 'per-transaction'
      ? consumerTask({
          process: async (tx: Transaction<BenchPayload>) => {
            await pool.query(`INSERT INTO ${table} (id, n) VALUES ($1, $2)`, [tx.id, tx.payload.n]);
          },
        })
      : consumerTask({
          processBatch: async (txs: readonly Transaction<BenchPayload>[]) => {
            await pool.query(
              `INSERT INTO ${table} (id, n) SELECT * FROM unnest($1::text[], $2::int[])`,
              [txs.map((tx) => tx.id), txs.map((tx) => tx.payload.n)],
            );
            return txs.map((): BatchItemResult<void> => ({ ok: true }));
          },
        });
  const batch =
    run.write === 'per-transaction' ? {} : { size: run.write.batch, maxWait: run.write.maxWait };
  try {
    const started = performance.now();
    const done = await successes(
      consume(connector, task, {
        loop: {
          mode: 'continuous',
          concurrency: { value: run.concurrency },
          limit: run.count,
          streaming: true,
        },
        fetch: { empty: { backoff: 1, backoffCap: 10 } },
        process: { batch },
      }),
    );
    const seconds = secondsSince(started);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    if (done !== run.count || rows[0]?.n !== run.count) {
      throw new Error(`${done} outcomes and ${rows[0]?.n} rows of ${run.count}`);
    }
    return { count: run.count, seconds, latency: null };
  } finally {
    await connector.close();
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
    const cleanup = await model.createChannel();
    await cleanup.deleteQueue(queue);
    await model.close();
  }
}
