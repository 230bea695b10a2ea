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
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json && node .bench/connectors/kafka.js [count] [rounds]
 */
import { Admin, Consumer, Producer, ProduceAcks } from '@platformatic/kafka';
import { consume, consumerTask, type LoopMode } from 'ergon-rx';
import { KafkaConnector } from 'ergon-rx/kafka';

const count = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const batch = 100;
const brokers = ['127.0.0.1:9092'];
const body = Buffer.from(JSON.stringify({ order: 42, item: 'widget', qty: 3 }));

let topics = 0;

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

async function rawDriver(topic: string): Promise<number> {
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
  let started = 0;
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
    if (done === 0) started = performance.now();
    sum += (JSON.parse(message.value.toString()) as { qty: number }).qty;
    next.set(message.partition, message.offset + 1n);
    if (++done % batch === 0) commitSoon();
    if (done === count) break;
  }
  while (commits.running !== null) await commits.running;
  await commit();
  await stream.close();
  await consumer.close(); // leaves the group, as the connector's close does
  const elapsed = performance.now() - started;
  if (sum !== count * 3) throw new Error(`raw driver: decoded ${sum / 3} of ${count}`);
  return elapsed;
}

async function ergon(topic: string, mode: LoopMode): Promise<number> {
  const connector = new KafkaConnector({ topic, brokers, fetchWait: 1000 });
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  let started = 0;
  await new Promise<void>((resolve, reject) =>
    consume(connector, task, {
      loop: { mode, concurrency: { value: batch }, limit: count, streaming: true },
      fetch: { batch: { size: batch } },
    }).subscribe({
      next: () => {
        if (outcomes++ === 0) started = performance.now();
      },
      error: reject,
      complete: resolve,
    }),
  );
  await connector.close(); // the last commit
  const elapsed = performance.now() - started;
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes of ${count}`);
  return elapsed;
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

const contenders: Record<string, (topic: string) => Promise<number>> = {
  'raw @platformatic/kafka (stream, commit every 100)': rawDriver,
  'ergon-rx batch (size 100, concurrency 100)': (topic) => ergon(topic, 'batch'),
  'ergon-rx continuous (concurrency 100)': (topic) => ergon(topic, 'continuous'),
};

const results = new Map<string, number[]>();
// Round -1 is an untimed warm-up: cold, ergon-rx's path is not optimized yet (several times
// the CPU per record of a warm run), and neither is the client's.
for (let round = -1; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    const topic = await freshTopic();
    const elapsed = await run(topic);
    const left = await lag(topic);
    await dropTopic(topic);
    if (left !== 0) throw new Error(`${name}: ${left} records left uncommitted`);
    if (round >= 0) results.set(name, [...(results.get(name) ?? []), (count / elapsed) * 1000]);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const raw = median(results.get(Object.keys(contenders)[0] as string) ?? []);
console.log(
  `Kafka consume+commit, ${count} records on 4 partitions, median of ${rounds} rounds after a warm-up`,
);
console.log('| contender | msgs/s | vs raw driver |');
console.log('|---|---:|---:|');
for (const [name, rates] of results) {
  const rate = median(rates);
  console.log(`| ${name} | ${Math.round(rate)} | ${((rate / raw) * 100).toFixed(0)}% |`);
}
