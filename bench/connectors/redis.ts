/**
 * Redis Streams consume+ack throughput: ergon-rx's RedisConnector under `consume` (no-op
 * handler) against the raw ioredis driver doing the same work (XREADGROUP of `prefetch`
 * entries, JSON-decode each body, the no-op handler, one XACK per batch), and against BullMQ processing the same
 * number of no-op jobs (Worker concurrency = prefetch) on the same Redis, all in one process.
 * Also dispatch: `connector.dispatch` of batches against a raw pipeline of XADDs. Prints
 * msgs/s (best wall time of the rounds), the ratio to the raw driver, and the CPU time this
 * process spent per message (least of the rounds; Redis's own CPU not included), which stays
 * meaningful when other work loads the machine. Runs the built `dist/` (build first).
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json && node .bench/connectors/redis.js [count] [prefetch]
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { consume, consumerTask, createTransaction, type LoopMode } from 'ergon-rx';
import { RedisConnector } from 'ergon-rx/redis';
import { consumerGroup as group, rawRedisConsume, rawRedisProduce } from '../contenders/redis.js';
import { successes } from '../contenders/successes.js';

const count = Number(process.argv[2] ?? 20_000);
const prefetch = Number(process.argv[3] ?? 100);
const rounds = 5;

const dispatchBatch = 1000;

const redis = new Redis({ host: '127.0.0.1', port: 6379, protocol: 2 });

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Fills a stream with `count` entries in the connector's format (id + JSON body). */
async function fill(stream: string): Promise<void> {
  await rawRedisProduce(redis, stream, count, dispatchBatch);
  await redis.xgroup('CREATE', stream, group, '0');
}

/** CPU time this process spent per message (µs) during the last `timed` run. */
let lastCpu = 0;

/** Wall time of `run` in ms (and its CPU time per message in `lastCpu`). */
async function timed(run: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  lastCpu = (used.user + used.system) / count;
  return ms;
}

async function rawConsume(stream: string): Promise<number> {
  const reader = new Redis({ host: '127.0.0.1', port: 6379, protocol: 2 });
  const ms = await timed(() => rawRedisConsume(reader, stream, count, prefetch, null));
  reader.disconnect();
  return ms;
}

async function ergonConsume(stream: string, mode: LoopMode): Promise<number> {
  const connector = new RedisConnector({ stream, group, consumer: 'ergon' });
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  const ms = await timed(async () => {
    outcomes = await successes(
      consume(connector, task, {
        loop: { mode, concurrency: { value: prefetch }, limit: count },
        fetch: { batch: { size: prefetch } },
      }),
    );
  });
  await connector.close();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes`);
  return ms;
}

async function bullmqConsume(): Promise<number> {
  const name = uniqueName('bullmq');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  for (let start = 0; start < count; start += dispatchBatch) {
    const jobs = [];
    for (let i = start; i < Math.min(count, start + dispatchBatch); i++) {
      jobs.push({ name: 'noop', data: { n: i }, opts: { removeOnComplete: true } });
    }
    await queue.addBulk(jobs);
  }
  let completed = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker(name, async () => undefined, {
    connection,
    concurrency: prefetch,
    autorun: false,
  });
  worker.on('completed', () => {
    if (++completed === count) finish();
  });
  const ms = await timed(async () => {
    void worker.run();
    await allDone;
  });
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return ms;
}

async function rawDispatch(stream: string): Promise<number> {
  return timed(() => rawRedisProduce(redis, stream, count, dispatchBatch));
}

async function ergonDispatch(stream: string): Promise<number> {
  const connector = new RedisConnector({ stream, group });
  const ms = await timed(async () => {
    for (let start = 0; start < count; start += dispatchBatch) {
      const batch = [];
      for (let i = start; i < Math.min(count, start + dispatchBatch); i++) {
        batch.push(createTransaction({ n: i }, { id: `tx-${i}` }));
      }
      const report = await connector.dispatch(batch);
      if (report.failed.length > 0) throw new Error('dispatch failed');
    }
  });
  await connector.close();
  return ms;
}

/** A contender's best wall time and least CPU time per message (µs) over the rounds. */
interface Best {
  ms: number;
  cpu: number;
}

/**
 * The best (shortest) time of each contender over `rounds` rounds, each round running every
 * contender once in turn (so a busy moment of the machine hits them alike), each run on a
 * fresh stream (filled beforehand when `prefill`).
 */
async function best(
  contenders: readonly ((stream: string) => Promise<number>)[],
  prefill: boolean,
): Promise<Best[]> {
  const results = contenders.map(() => ({ ms: Infinity, cpu: Infinity }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of contenders.entries()) {
      const stream = uniqueName('stream');
      if (prefill) await fill(stream);
      try {
        const ms = await run(stream);
        const result = results[i] as Best;
        result.ms = Math.min(result.ms, ms);
        result.cpu = Math.min(result.cpu, lastCpu);
      } finally {
        await redis.del(stream, `${stream}:dead`);
      }
    }
  }
  return results;
}

function row(name: string, result: Best, baseline: Best): string {
  const rate = Math.round((count / result.ms) * 1000);
  const ratio = `${((baseline.ms / result.ms) * 100).toFixed(0)}%`;
  const cpu = result.cpu.toFixed(2);
  return `| ${name.padEnd(48)} | ${String(rate).padStart(9)} | ${ratio.padStart(8)} | ${cpu.padStart(10)} |`;
}

const header = [
  `| ${'contender'.padEnd(48)} | ${'msgs/s'.padStart(9)} | ${'vs raw'.padStart(8)} | ${'CPU µs/msg'.padStart(10)} |`,
  `| ${'-'.repeat(48)} | ${'-'.repeat(9)} | ${'-'.repeat(8)} | ${'-'.repeat(10)} |`,
];

console.log(
  `Redis Streams, ${count} messages, prefetch/concurrency ${prefetch}, best of ${rounds}`,
);
console.log(
  `node ${process.version}, redis ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
);
console.log('\nconsume + ack');
const [raw, batch, continuous] = (await best(
  [
    rawConsume,
    (stream) => ergonConsume(stream, 'batch'),
    (stream) => ergonConsume(stream, 'continuous'),
  ],
  true,
)) as [Best, Best, Best];
const [bullmq] = (await best([() => bullmqConsume()], false)) as [Best];
console.log(
  [
    ...header,
    row('raw ioredis (XREADGROUP, parse, handler, XACK)', raw, raw),
    row('ergon-rx consume, batch mode', batch, raw),
    row('ergon-rx consume, continuous mode', continuous, raw),
    row('BullMQ Worker (no-op jobs)', bullmq, raw),
  ].join('\n'),
);

console.log(`\ndispatch (batches of ${dispatchBatch})`);
const [rawSend, ergonSend] = (await best([rawDispatch, ergonDispatch], false)) as [Best, Best];
console.log(
  [
    ...header,
    row('raw ioredis pipeline of XADDs', rawSend, rawSend),
    row('ergon-rx RedisConnector.dispatch', ergonSend, rawSend),
  ].join('\n'),
);

redis.disconnect();
