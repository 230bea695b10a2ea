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
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { LoopMode } from 'ergon-rx';
import { RedisConnector } from 'ergon-rx/redis';
import { consumerGroup as group, rawRedisConsume, rawRedisProduce } from '../contenders/redis.js';
import { timeErgonConsume, timeErgonDispatch, uniqueName } from './ergon-runs.js';
import { measureRounds, onFresh, resultTable, type Contender, type Stopwatch } from './rounds.js';

const count = Number(process.argv[2] ?? 20_000);
const prefetch = Number(process.argv[3] ?? 100);
const rounds = 5;

const dispatchBatch = 1000;

const redis = new Redis({ host: '127.0.0.1', port: 6379, protocol: 2 });

/** Fills a stream with `count` entries in the connector's format (id + JSON body). */
async function fill(stream: string): Promise<void> {
  await rawRedisProduce(redis, stream, count, dispatchBatch);
  await redis.xgroup('CREATE', stream, group, '0');
}

async function rawConsume(stream: string, watch: Stopwatch): Promise<void> {
  const reader = new Redis({ host: '127.0.0.1', port: 6379, protocol: 2 });
  await watch.time(() => rawRedisConsume(reader, stream, count, prefetch, null));
  reader.disconnect();
}

async function ergonConsume(stream: string, mode: LoopMode, watch: Stopwatch): Promise<void> {
  const connector = new RedisConnector({ stream, group, consumer: 'ergon' });
  await timeErgonConsume(connector, mode, prefetch, count, watch);
}

async function bullmqConsume(watch: Stopwatch): Promise<void> {
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
  await watch.time(async () => {
    void worker.run();
    await allDone;
  });
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

async function rawDispatch(stream: string, watch: Stopwatch): Promise<void> {
  await watch.time(() => rawRedisProduce(redis, stream, count, dispatchBatch));
}

async function ergonDispatch(stream: string, watch: Stopwatch): Promise<void> {
  await timeErgonDispatch(new RedisConnector({ stream, group }), dispatchBatch, count, watch);
}

/** A contender run on a fresh stream (filled beforehand when `prefill`), deleted afterwards. */
function onFreshStream(
  run: (stream: string, watch: Stopwatch) => Promise<void>,
  prefill: boolean,
): Contender {
  const create = async (): Promise<string> => {
    const stream = uniqueName('stream');
    if (prefill) await fill(stream);
    return stream;
  };
  return onFresh(create, (stream) => redis.del(stream, `${stream}:dead`), run);
}

const options = { count, rounds, warmUp: false, pick: 'best' } as const;
console.log(
  `Redis Streams, ${count} messages, prefetch/concurrency ${prefetch}, best of ${rounds}`,
);
console.log(
  `node ${process.version}, redis ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
);
console.log('\nconsume + ack');
const rawName = 'raw ioredis (XREADGROUP, parse, handler, XACK)';
const consumed = await measureRounds(
  {
    [rawName]: onFreshStream(rawConsume, true),
    'ergon-rx consume, batch mode': onFreshStream(
      (stream, watch) => ergonConsume(stream, 'batch', watch),
      true,
    ),
    'ergon-rx consume, continuous mode': onFreshStream(
      (stream, watch) => ergonConsume(stream, 'continuous', watch),
      true,
    ),
    'BullMQ Worker (no-op jobs)': bullmqConsume,
  },
  options,
);
console.log(resultTable(consumed, rawName));

console.log(`\ndispatch (batches of ${dispatchBatch})`);
const rawSendName = 'raw ioredis pipeline of XADDs';
const sent = await measureRounds(
  {
    [rawSendName]: onFreshStream(rawDispatch, false),
    'ergon-rx RedisConnector.dispatch': onFreshStream(ergonDispatch, false),
  },
  options,
);
console.log(resultTable(sent, rawSendName));

redis.disconnect();
