/**
 * PostgreSQL end to end: ergon-rx's PostgresConnector (dispatch = multi-row INSERT; fetch =
 * claim a batch with `FOR UPDATE SKIP LOCKED`, woken by LISTEN/NOTIFY; ack = DELETE) against
 * pg-boss 10 (`insert` of job batches; `fetch` of a batch, handler, `complete` of the batch,
 * looping without pause). pg-boss's own `work()` polls at most every 0.5 s after a fetch, which
 * would cap it at `batchSize` jobs per half second; the fetch/complete loop is the fastest way
 * to drive it. Each run uses its own table or queue and drops it.
 */
import PgBoss from 'pg-boss';
import pg from 'pg';
import { PostgresConnector } from 'ergon-rx/postgres';
import {
  ergonEndToEnd,
  noop,
  timeTogether,
  type BenchPayload,
  type EndToEndRun,
  type ErgonEndToEndRun,
} from './end-to-end.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { RunResult } from './run-result.js';

const url = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const poolSize = 4;

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Runs `work` on a connection of its own (for untimed setup and cleanup). */
async function withClient(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

export async function ergonPostgres(run: ErgonEndToEndRun): Promise<RunResult> {
  const table = uniqueName('e2e');
  const connector = (): PostgresConnector<BenchPayload> =>
    new PostgresConnector<BenchPayload>({
      connection: { url, poolSize, applicationName: 'ergon-bench' },
      table,
      fetchWait: 1000,
    });
  const producer = connector();
  const consumer = connector();
  await producer.migrate();
  try {
    return await ergonEndToEnd(producer, consumer, run);
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
    await withClient((client) =>
      client.query(`DROP TABLE IF EXISTS public."${table}", public."${table}_dead"`),
    );
  }
}

export async function pgBoss(run: EndToEndRun): Promise<RunResult> {
  const name = uniqueName('pgboss');
  const boss = new PgBoss({
    connectionString: url,
    max: poolSize,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (error: Error) => console.error(error));
  await boss.start();
  await boss.createQueue(name);
  const recorder = new LatencyRecorder(run.count);
  try {
    const seconds = await timeTogether(
      async () => {
        for (let start = 0; start < run.count; start += run.dispatchBatch) {
          const jobs = [];
          for (let n = start; n < Math.min(run.count, start + run.dispatchBatch); n++) {
            jobs.push({ name, data: { n } });
          }
          await boss.insert(jobs);
        }
      },
      async () => {
        let done = 0;
        while (done < run.count) {
          const jobs = await boss.fetch<{ n: number }>(name, { batchSize: run.concurrency });
          if (jobs.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, 1));
            continue;
          }
          const taken = performance.now();
          await Promise.all(jobs.map(() => noop()));
          await boss.complete(
            name,
            jobs.map((job) => job.id),
          );
          const completed = performance.now();
          for (let i = 0; i < jobs.length; i++) recorder.record(completed - taken);
          done += jobs.length;
        }
      },
    );
    return { count: run.count, seconds, latency: recorder.summary() };
  } finally {
    // pg-boss 10's delete_queue deletes the queue row before dropping its partition, which
    // fails while the partition still holds (completed) jobs: empty it first.
    await withClient((client) => client.query('DELETE FROM pgboss.job WHERE name = $1', [name]));
    await boss.deleteQueue(name);
    await boss.stop({ graceful: false, wait: true });
  }
}
