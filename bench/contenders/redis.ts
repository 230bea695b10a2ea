/**
 * Redis Streams end to end (produce + consume on the same Redis): ergon-rx's RedisConnector,
 * raw ioredis (pipelined XADDs; XREADGROUP, JSON.parse, handler, one XACK per read) and
 * BullMQ (`addBulk`, a `Worker` with the same concurrency, jobs removed on completion). Each
 * run uses its own stream or queue (named after the process and the time) and deletes it.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisConnector } from 'ergon-rx/redis';
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

const host = '127.0.0.1';
const port = 6379;
/** The consumer group every contender reads with. */
export const consumerGroup = 'bench';

/** A stream or queue name no other run uses. */
function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

export async function ergonRedis(run: ErgonEndToEndRun): Promise<RunResult> {
  const stream = uniqueName('e2e');
  const producer = new RedisConnector<BenchPayload>({ stream, group: consumerGroup });
  const consumer = new RedisConnector<BenchPayload>({
    stream,
    group: consumerGroup,
    consumer: 'ergon',
  });
  const admin = new Redis({ host, port });
  try {
    return await ergonEndToEnd(producer, consumer, run);
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
    await admin.del(stream, `${stream}:dead`);
    admin.disconnect();
  }
}

/** Sends `count` entries in the connector's format, `batch` XADDs per pipeline. */
export async function rawRedisProduce(
  redis: Redis,
  stream: string,
  count: number,
  batch: number,
): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const pipeline = redis.pipeline();
    for (let n = start; n < Math.min(count, start + batch); n++) {
      pipeline.xadd(stream, '*', 'id', `tx-${n}`, 'body', JSON.stringify({ n }));
    }
    const results = await pipeline.exec();
    if (results?.some(([error]) => error !== null)) throw new Error('XADD failed');
  }
}

/**
 * Reads `count` entries of {@link consumerGroup} in reads of at most `prefetch`, runs the handler on each
 * (all of a read at once), acknowledges each read with one XACK; records read-to-ack latency.
 */
export async function rawRedisConsume(
  reader: Redis,
  stream: string,
  count: number,
  prefetch: number,
  recorder: LatencyRecorder | null,
): Promise<void> {
  let done = 0;
  while (done < count) {
    const reply = (await reader.xreadgroup(
      'GROUP',
      consumerGroup,
      'raw',
      'COUNT',
      Math.min(prefetch, count - done),
      'BLOCK',
      1000,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const taken = performance.now();
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    const ids = entries.map(([id]) => id);
    await Promise.all(
      entries.map(([, fields]) => {
        JSON.parse(fields[3] as string);
        return noop();
      }),
    );
    await reader.xack(stream, consumerGroup, ...ids);
    const acked = performance.now();
    for (let i = 0; i < ids.length; i++) recorder?.record(acked - taken);
    done += ids.length;
  }
}

export async function rawRedis(run: EndToEndRun): Promise<RunResult> {
  const stream = uniqueName('raw');
  const writer = new Redis({ host, port });
  const reader = new Redis({ host, port });
  const recorder = new LatencyRecorder(run.count);
  await writer.xgroup('CREATE', stream, consumerGroup, '0', 'MKSTREAM');
  try {
    const seconds = await timeTogether(
      () => rawRedisProduce(writer, stream, run.count, run.dispatchBatch),
      () => rawRedisConsume(reader, stream, run.count, run.concurrency, recorder),
    );
    return { count: run.count, seconds, latency: recorder.summary() };
  } finally {
    await writer.del(stream);
    writer.disconnect();
    reader.disconnect();
  }
}

export async function bullmq(run: EndToEndRun): Promise<RunResult> {
  const name = uniqueName('bullmq');
  const connection = { host, port, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const recorder = new LatencyRecorder(run.count);
  const started = new Map<string, number>();
  let completed = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker(
    name,
    async (job) => {
      started.set(job.id as string, performance.now());
      await noop();
    },
    { connection, concurrency: run.concurrency, autorun: false },
  );
  worker.on('completed', (job) => {
    const taken = started.get(job.id as string);
    if (taken !== undefined) recorder.record(performance.now() - taken);
    started.delete(job.id as string);
    if (++completed === run.count) finish();
  });
  await worker.waitUntilReady();
  try {
    const seconds = await timeTogether(
      async () => {
        for (let start = 0; start < run.count; start += run.dispatchBatch) {
          const jobs = [];
          for (let n = start; n < Math.min(run.count, start + run.dispatchBatch); n++) {
            jobs.push({ name: 'noop', data: { n }, opts: { removeOnComplete: true } });
          }
          await queue.addBulk(jobs);
        }
      },
      async () => {
        void worker.run();
        await allDone;
      },
    );
    return { count: run.count, seconds, latency: recorder.summary() };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}
