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

const count = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const only = process.argv[4]?.split(',');
const batch = 100;
const brokers = ['127.0.0.1:9092'];
const body = Buffer.from(JSON.stringify({ order: 42, item: 'widget', qty: 3 }));

let topics = 0;

/** A measured run: wall time and the process's CPU time (user + system) over the same window. */
interface Run {
  readonly ms: number;
  readonly cpuMicros: number;
}

const profileDirectory = process.env['KAFKA_BENCH_PROFILE'];
const profiler = profileDirectory === undefined ? null : new Session();
profiler?.connect();
await profiler?.post('Profiler.enable');
let profiles = 0;

/** Starts measuring at `start()` (the first record); `stop()` gives the run. */
function stopwatch(): { start(): void; stop(): Promise<Run> } {
  let wall = 0;
  let cpu: NodeJS.CpuUsage | undefined;
  return {
    start() {
      profiler?.post('Profiler.start').catch((error: unknown) => console.error(error));
      wall = performance.now();
      cpu = process.cpuUsage();
    },
    async stop() {
      const used = process.cpuUsage(cpu);
      const run = { ms: performance.now() - wall, cpuMicros: used.user + used.system };
      if (profiler !== null && profileDirectory !== undefined) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(
          join(profileDirectory, `window-${++profiles}.cpuprofile`),
          JSON.stringify(profile),
        );
      }
      return run;
    },
  };
}

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

async function rawDriver(topic: string): Promise<Run> {
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
  const clock = stopwatch();
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
  const run = await clock.stop();
  if (sum !== count * 3) throw new Error(`raw driver: decoded ${sum / 3} of ${count}`);
  return run;
}

async function ergon(topic: string, mode: LoopMode): Promise<Run> {
  const connector = new KafkaConnector({ topic, brokers, fetchWait: 1000 });
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  const clock = stopwatch();
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
  const run = await clock.stop();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes of ${count}`);
  return run;
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

const contenders: Record<
  string,
  { readonly key: string; readonly run: (topic: string) => Promise<Run> }
> = {
  'raw @platformatic/kafka (stream, commit every 100)': { key: 'raw', run: rawDriver },
  'ergon-rx batch (size 100, concurrency 100)': {
    key: 'batch',
    run: (topic) => ergon(topic, 'batch'),
  },
  'ergon-rx continuous (concurrency 100)': {
    key: 'continuous',
    run: (topic) => ergon(topic, 'continuous'),
  },
};

const rates = new Map<string, number[]>();
const cpuPerRecord = new Map<string, number[]>();
const push = (into: Map<string, number[]>, name: string, value: number): void => {
  into.set(name, [...(into.get(name) ?? []), value]);
};
// Round -1 is an untimed warm-up: cold, ergon-rx's path is not optimized yet (several times
// the CPU per record of a warm run), and neither is the client's.
for (let round = -1; round < rounds; round++) {
  for (const [name, { key, run }] of Object.entries(contenders)) {
    if (only !== undefined && !only.includes(key)) continue;
    const topic = await freshTopic();
    const measured = await run(topic);
    const left = await lag(topic);
    await dropTopic(topic);
    if (left !== 0) throw new Error(`${name}: ${left} records left uncommitted`);
    if (round < 0) continue;
    push(rates, name, (count / measured.ms) * 1000);
    push(cpuPerRecord, name, measured.cpuMicros / count);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const rawName = Object.keys(contenders)[0] as string;
const rawRate = median(rates.get(rawName) ?? []);
const rawCpu = median(cpuPerRecord.get(rawName) ?? []);
console.log(
  `Kafka consume+commit, ${count} records on 4 partitions, median of ${rounds} rounds after a warm-up`,
);
console.log('| contender | msgs/s | vs raw driver | CPU µs/msg | raw CPU / this CPU |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, values] of rates) {
  const rate = median(values);
  const cpu = median(cpuPerRecord.get(name) ?? []);
  const wallRatio = rawRate > 0 ? `${((rate / rawRate) * 100).toFixed(0)}%` : 'n/a';
  const cpuRatio = rawCpu > 0 ? `${((rawCpu / cpu) * 100).toFixed(0)}%` : 'n/a';
  console.log(`| ${name} | ${Math.round(rate)} | ${wallRatio} | ${cpu.toFixed(1)} | ${cpuRatio} |`);
}
