/**
 * The PostgreSQL queue with and without transactional settlement: a queue table filled
 * beforehand (not timed), consumed in continuous mode, each transaction writing one row into
 * an effects table. `plain`: the write on the pool, then the connector's ack (batched with
 * the acks of the same moment). `transactional`: the write through `ctx.db` and the ack in
 * the same database transaction (BEGIN, SAVEPOINT, INSERT, RELEASE, DELETE, COMMIT on one
 * connection). Each run uses its own tables and drops them.
 */
import { consume, consumerTask, createTransaction, type Transaction } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
import { transactional } from 'ergon-rx/effectively-once';
import { secondsSince, type RunResult } from './run-result.js';
import { successes } from './successes.js';

const url = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** One run of the queue. */
export interface TransactionalAckRun {
  readonly count: number;
  readonly concurrency: number;
  /** Connections of the queue's pool (shared by the effect writes). */
  readonly poolSize: number;
  readonly settle: 'plain' | 'transactional';
}

export async function ergonTransactionalAck(run: TransactionalAckRun): Promise<RunResult> {
  const table = `ergon_bench_txack_${process.pid}_${Date.now().toString(36)}`;
  const effects = `${table}_effects`;
  const queue = new PostgresConnector<{ n: number }>({
    connection: { url, poolSize: run.poolSize },
    table,
    fetchWait: 50,
  });
  await queue.migrate();
  const pool = queue.service.pool;
  await pool.query(`CREATE TABLE ${effects} (id text PRIMARY KEY, n integer NOT NULL)`);
  for (let start = 0; start < run.count; start += 5000) {
    const size = Math.min(5000, run.count - start);
    await queue.dispatch(
      Array.from({ length: size }, (_, i) => createTransaction({ n: start + i })),
    );
  }
  const insert = `INSERT INTO ${effects} (id, n) VALUES ($1, $2)`;
  const policy = {
    loop: {
      mode: 'continuous' as const,
      concurrency: { value: run.concurrency },
      limit: run.count,
      streaming: true,
    },
    fetch: { empty: { backoff: 1, backoffCap: 10 } },
  };
  const outcomes$ =
    run.settle === 'plain'
      ? consume(
          queue,
          consumerTask({
            process: async (tx: Transaction<{ n: number }>) => {
              await pool.query(insert, [tx.id, tx.payload.n]);
            },
          }),
          policy,
        )
      : transactional(queue).consume(
          {
            process: async (tx: Transaction<{ n: number }>, { db }) => {
              await db.query(insert, [tx.id, tx.payload.n]);
            },
          },
          policy,
        );
  try {
    const started = performance.now();
    const done = await successes(outcomes$);
    const seconds = secondsSince(started);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`);
    if (done !== run.count || rows[0]?.n !== run.count) {
      throw new Error(`${done} outcomes and ${rows[0]?.n} rows of ${run.count}`);
    }
    return { count: run.count, seconds, latency: null };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${effects}, ${table}, ${table}_dead`);
    await queue.close();
  }
}
