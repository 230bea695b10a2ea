/**
 * Kafka consume+commit throughput: ergon-rx's KafkaConnector under `consume` with a no-op
 * handler against the raw @platformatic/kafka client doing the same work (a consumer group
 * stream of the same topic, JSON decoding of each value, a commit of the consumed offsets
 * every 100 records with one commit in flight at a time, and a last one at the end), in one
 * process against the local broker. Each contender drains a fresh topic of 4 partitions
 * holding N records; the clock starts at the first record (joining the group, 3 s with the
 * broker's initial rebalance delay, is not measured) and stops once the last commit is done
 * and the consumer left the group.
 *
 * Besides msgs/s (wall clock, sensitive to other load on the machine) each row gives the CPU
 * time of the process per record over the same window (`process.cpuUsage`), which another
 * process sharing the cores does not inflate.
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json &&
 *        node .bench/connectors/kafka.js [count] [rounds] [raw,batch,continuous]
 * (the third argument runs a subset of the contenders). With KAFKA_BENCH_PROFILE=<dir>, a CPU
 * profile of each measured window (not of the set-up) is written there, for `--cpu-prof`-like
 * analysis of the hot path alone.
 */
import { Admin, Consumer, Producer, ProduceAcks } from '@platformatic/kafka';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { consume, consumerTask, type LoopMode } from 'ergon-rx';
import { KafkaConnector } from 'ergon-rx/kafka';
import {
  measureRounds,
  onFresh,
  resultTable,
  type Contender,
  type Stopwatch,
  type WindowHooks,
} from './rounds.js';

const count = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const only = process.argv[4]?.split(',');
const batch = 100;
const brokers = ['127.0.0.1:9092'];
const body = Buffer.from(JSON.stringify({ order: 42, item: 'widget', qty: 3 }));

let topics = 0;

const profileDirectory = process.env['KAFKA_BENCH_PROFILE'];
const profiler = profileDirectory === undefined ? null : new Session();
profiler?.connect();
await profiler?.post('Profiler.enable');
let profiles = 0;

/** With KAFKA_BENCH_PROFILE, a CPU profile of each measured window. */
const window: WindowHooks | undefined =
  profiler === null || profileDirectory === undefined
    ? undefined
    : {
        start() {
          profiler.post('Profiler.start').catch((error: unknown) => console.error(error));
        },
        async stop() {
          const { profile } = await profiler.post('Profiler.stop');
          writeFileSync(
            join(profileDirectory, `window-${++profiles}.cpuprofile`),
            JSON.stringify(profile),
          );
        },
      };

async function freshTopic(): Promise<string> {
  const topic = `ergon_bench_kafka_${process.pid}_${++topics}`;
  const admin = new Admin({ clientId: 'ergon-bench', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic, `${topic}.dead`], partitions: 4, replicas: 1 });
  await admin.close();
  const producer = new Producer({
    clientId: 'ergon-bench',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  });
  for (let sent = 0; sent < count; sent += 1000) {
    const chunk = Math.min(1000, count - sent);
    await producer.send({
      messages: Array.from({ length: chunk }, (_, i) => ({
        topic,
        key: Buffer.from(`k${(sent + i) % 64}`),
        value: body,
      })),
    });
  }
  await producer.close();
  return topic;
}

async function dropTopic(topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'ergon-bench', bootstrapBrokers: brokers });
  await admin.deleteTopics({ topics: [topic, `${topic}.dead`] });
  await admin.close();
}

async function rawDriver(topic: string, clock: Stopwatch): Promise<void> {
  const consumer = new Consumer({
    clientId: 'ergon-bench',
    bootstrapBrokers: brokers,
    groupId: `ergon-${topic}`,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: false,
    highWaterMark: 512,
  });
  let done = 0;
  let sum = 0;
  const next = new Map<number, bigint>();
  const commit = (): Promise<void> =>
    consumer.commit({
      offsets: [...next].map(([partition, offset]) => ({
        topic,
        partition,
        offset,
        leaderEpoch: -1,
      })),
    });
  const commits: { running: Promise<void> | null; due: boolean } = { running: null, due: false };
  const commitSoon = (): void => {
    if (commits.running !== null) {
      commits.due = true;
      return;
    }
    commits.running = commit().finally(() => {
      commits.running = null;
      if (commits.due) {
        commits.due = false;
        commitSoon();
      }
    });
  };
  for await (const message of stream) {
    if (done === 0) clock.start();
    sum += (JSON.parse(message.value.toString()) as { qty: number }).qty;
    next.set(message.partition, message.offset + 1n);
    if (++done % batch === 0) commitSoon();
    if (done === count) break;
  }
  while (commits.running !== null) await commits.running;
  await commit();
  await stream.close();
  await consumer.close(); // leaves the group, as the connector's close does
  clock.stop();
  if (sum !== count * 3) throw new Error(`raw driver: decoded ${sum / 3} of ${count}`);
}

async function ergon(topic: string, mode: LoopMode, clock: Stopwatch): Promise<void> {
  const connector = new KafkaConnector({ topic, brokers, fetchWait: 1000 });
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  await new Promise<void>((resolve, reject) =>
    consume(connector, task, {
      loop: { mode, concurrency: { value: batch }, limit: count, streaming: true },
      fetch: { batch: { size: batch } },
    }).subscribe({
      next: () => {
        if (outcomes++ === 0) clock.start();
      },
      error: reject,
      complete: resolve,
    }),
  );
  await connector.close(); // the last commit
  clock.stop();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes of ${count}`);
}

async function lag(topic: string): Promise<number> {
  const consumer = new Consumer({
    clientId: 'ergon-bench',
    bootstrapBrokers: brokers,
    groupId: `ergon-${topic}`,
  });
  const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
  const commits =
    (
      await consumer.listCommittedOffsets({
        topics: [{ topic, partitions: ends.map((_, p) => p) }],
      })
    ).get(topic) ?? [];
  await consumer.close();
  return Number(ends.reduce((sum, end, p) => sum + end - (commits[p] ?? 0n), 0n));
}

/** A contender run on a fresh topic, checked to have committed every record. */
function onFreshTopic(run: (topic: string, clock: Stopwatch) => Promise<void>): Contender {
  return onFresh(freshTopic, dropTopic, async (topic, clock) => {
    await run(topic, clock);
    const left = await lag(topic);
    if (left !== 0) throw new Error(`${left} records left uncommitted`);
  });
}

const rawName = 'raw @platformatic/kafka (stream, commit every 100)';
const contenders: Record<string, { readonly key: string; readonly run: Contender }> = {
  [rawName]: { key: 'raw', run: onFreshTopic(rawDriver) },
  'ergon-rx batch (size 100, concurrency 100)': {
    key: 'batch',
    run: onFreshTopic((topic, clock) => ergon(topic, 'batch', clock)),
  },
  'ergon-rx continuous (concurrency 100)': {
    key: 'continuous',
    run: onFreshTopic((topic, clock) => ergon(topic, 'continuous', clock)),
  },
};
const chosen = Object.fromEntries(
  Object.entries(contenders)
    .filter(([, { key }]) => only === undefined || only.includes(key))
    .map(([name, { run }]) => [name, run]),
);
// The warm-up round matters: cold, ergon-rx's path is not optimized yet (several times the CPU
// per record of a warm run), and neither is the client's.
const results = await measureRounds(chosen, {
  count,
  rounds,
  warmUp: true,
  pick: 'median',
  ...(window === undefined ? {} : { window }),
});
console.log(
  `Kafka consume+commit, ${count} records on 4 partitions, median of ${rounds} rounds after a warm-up`,
);
console.log(results.has(rawName) ? resultTable(results, rawName) : [...results]);
