/**
 * Worker processes sharing one queue: the queue is filled before the clock starts (not timed),
 * then `workers` processes, each running `consume` with a no-op handler, drain it together;
 * the clock runs from the moment every worker is loaded and told to go (connecting is timed) to the moment their
 * reported successes add up to the count. RabbitMQ: one classic durable queue, prefetch =
 * concurrency. PostgreSQL: one PostgresConnector queue, pool of 4 per worker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect } from 'amqplib';
import pg from 'pg';
import { createTransaction } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
import type { BenchPayload } from './end-to-end.js';
import { rawRabbitmqProduce } from './rabbitmq.js';
import { secondsSince, type RunResult } from './run-result.js';
import type { ScalingWorkerMessage, ScalingWorkerSettings } from './scaling-worker.js';

const rabbitmqUrl = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const postgresUrl = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** One run: `workers` processes on one `broker` queue of `count` messages. */
export interface ScalingRun {
  readonly broker: 'rabbitmq' | 'postgres';
  readonly workers: number;
  readonly count: number;
  /** `loop.concurrency.value` of each worker. */
  readonly concurrency: number;
}

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Fills the queue (untimed); returns what drops it afterwards. */
async function fill(run: ScalingRun, queue: string): Promise<() => Promise<void>> {
  if (run.broker === 'rabbitmq') {
    const model = await connect(rabbitmqUrl);
    const channel = await model.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await rawRabbitmqProduce(model, queue, run.count, 500);
    return async () => {
      await channel.deleteQueue(queue);
      await model.close();
    };
  }
  const connector = new PostgresConnector<BenchPayload>({
    connection: { url: postgresUrl, poolSize: 4, applicationName: 'ergon-bench' },
    table: queue,
  });
  await connector.migrate();
  for (let start = 0; start < run.count; start += 1000) {
    const batch = [];
    for (let n = start; n < Math.min(run.count, start + 1000); n++) {
      batch.push(createTransaction<BenchPayload>({ n }));
    }
    await connector.dispatch(batch);
  }
  await connector.close();
  return async () => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS public."${queue}", public."${queue}_dead"`);
    await client.end();
  };
}

/** Starts one worker process and resolves once it is connected and waiting for `go`. */
function startWorker(
  settings: ScalingWorkerSettings,
  onProgress: (worker: number, message: ScalingWorkerMessage) => void,
  index: number,
): Promise<ChildProcess> {
  const child = fork(new URL('./scaling-worker.js', import.meta.url), [JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker ${index} exited with ${String(code)}`)));
    child.on('message', (message: ScalingWorkerMessage) => {
      if (message.type === 'ready') resolve(child);
      else onProgress(index, message);
    });
  });
}

export async function scalingWorkers(run: ScalingRun): Promise<RunResult> {
  const queue = uniqueName(`scale_${String(run.workers)}`);
  const drop = await fill(run, queue);
  const done = new Array<number>(run.workers).fill(0);
  const cpu = new Array<number>(run.workers).fill(0);
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settings: ScalingWorkerSettings = {
    broker: run.broker,
    queue,
    concurrency: run.concurrency,
    url: run.broker === 'rabbitmq' ? rabbitmqUrl : postgresUrl,
  };
  const children = await Promise.all(
    Array.from({ length: run.workers }, (_, index) =>
      startWorker(
        settings,
        (worker, message) => {
          if (message.type !== 'progress') return;
          done[worker] = message.done;
          cpu[worker] = message.cpu;
          if (done.reduce((sum, n) => sum + n, 0) >= run.count) finish();
        },
        index,
      ),
    ),
  );
  try {
    const started = performance.now();
    for (const child of children) child.send('go');
    await finished;
    const seconds = secondsSince(started);
    const exited = children.map(
      (child) => new Promise((resolve) => child.removeAllListeners('exit').once('exit', resolve)),
    );
    for (const child of children) child.send('stop');
    await Promise.all(exited);
    const total = done.reduce((sum, n) => sum + n, 0);
    if (total !== run.count) throw new Error(`${String(total)} successes of ${String(run.count)}`);
    const workerCpu = cpu.reduce((sum, n) => sum + n, 0) / run.count;
    return { count: run.count, seconds, latency: null, extra: { workerCpu } };
  } finally {
    for (const child of children) child.kill();
    await drop();
  }
}
