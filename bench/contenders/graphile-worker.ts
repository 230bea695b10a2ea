/**
 * graphile-worker's own performance-test shape on the same PostgreSQL: N jobs added in bulk
 * before the clock starts (not timed), then a worker pool with a no-op task runs them all; the
 * clock runs from the start of the workers to the N-th completion. graphile-worker 0.17 (the
 * last line for Node 20; 0.18 needs Node 22), unbatched (each worker locks and completes its
 * own job) or batched (its `localQueue` of 500 and batched completions, as in its published
 * numbers). ergon-rx: the PostgresConnector queue filled by `dispatch` in batches (not timed),
 * then `consume` with `process` (one transaction per call) or `processBatch`. Each run uses
 * its own schema or table and drops it.
 */
import { Logger, makeWorkerUtils, run as runWorkers } from 'graphile-worker';
import pg from 'pg';
import { consume, consumerTask, createTransaction, type BatchItemResult } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
import type { BenchPayload } from './end-to-end.js';
import { noop } from './end-to-end.js';
import { secondsSince, type RunResult } from './run-result.js';
import { successes } from './successes.js';

const url = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** One run of a contender of this scenario. */
export interface QueueDrainRun {
  readonly count: number;
  /** Jobs run at a time (graphile-worker `concurrency`, ergon-rx `loop.concurrency.value`). */
  readonly concurrency: number;
  /** Unbatched, or batched: graphile-worker's local queue / ergon-rx `processBatch` size. */
  readonly batch: number | null;
}

/** Jobs added per statement while filling the queue (untimed). */
const fillBatch = 1000;

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Drops graphile-worker's log lines (one per worker start and stop). */
const logger = new Logger(() => () => undefined);

export async function graphileWorker(run: QueueDrainRun): Promise<RunResult> {
  const schema = uniqueName('gw');
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger });
  try {
    await utils.migrate();
    for (let start = 0; start < run.count; start += fillBatch) {
      const jobs = [];
      for (let n = start; n < Math.min(run.count, start + fillBatch); n++) {
        jobs.push({ identifier: 'bench', payload: { n } });
      }
      await utils.addJobs(jobs);
    }
    let finished = 0;
    let allDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const started = performance.now();
    const runner = await runWorkers({
      connectionString: url,
      schema,
      logger,
      concurrency: run.concurrency,
      maxPoolSize: run.concurrency + 1,
      noHandleSignals: true,
      pollInterval: 1000,
      preset:
        run.batch === null
          ? {}
          : {
              worker: {
                localQueue: { size: run.batch },
                completeJobBatchDelay: 0,
                failJobBatchDelay: 0,
              },
            },
      taskList: {
        bench: async () => {
          await noop();
          if (++finished === run.count) allDone();
        },
      },
    });
    await done;
    const seconds = secondsSince(started);
    await runner.stop();
    return { count: run.count, seconds, latency: null };
  } finally {
    await utils.withPgClient((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    await utils.release();
  }
}

export async function ergonQueueDrain(run: QueueDrainRun): Promise<RunResult> {
  const table = uniqueName('drain');
  const connector = new PostgresConnector<BenchPayload>({
    connection: { url, poolSize: 4, applicationName: 'ergon-bench' },
    table,
    fetchWait: 1000,
  });
  await connector.migrate();
  try {
    for (let start = 0; start < run.count; start += fillBatch) {
      const batch = [];
      for (let n = start; n < Math.min(run.count, start + fillBatch); n++) {
        batch.push(createTransaction<BenchPayload>({ n }));
      }
      await connector.dispatch(batch);
    }
    const task =
      run.batch === null
        ? consumerTask({ process: noop })
        : consumerTask({
            processBatch: async (txs: readonly unknown[]) => {
              await noop();
              return txs.map((): BatchItemResult<void> => ({ ok: true }));
            },
          });
    const started = performance.now();
    const done = await successes(
      consume(connector, task, {
        loop: {
          mode: 'continuous',
          concurrency: { value: run.batch === null ? run.concurrency : 2 * run.batch },
          limit: run.count,
        },
        process: run.batch === null ? {} : { batch: { size: run.batch, maxWait: 5 } },
      }),
    );
    const seconds = secondsSince(started);
    if (done !== run.count) throw new Error(`${done} outcomes of ${run.count}`);
    return { count: run.count, seconds, latency: null };
  } finally {
    await connector.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS public."${table}", public."${table}_dead"`);
    await client.end();
  }
}
