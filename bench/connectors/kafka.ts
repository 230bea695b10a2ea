/**
 * Kafka consume+commit cost: ergon-rx's KafkaConnector under `consume` with an async no-op
 * handler against a hand-written at-least-once consumer on the raw @platformatic/kafka client
 * doing the same job, in one process against the local broker. Each contender drains a fresh
 * topic of 4 partitions holding N records (200 000 by default), in a fresh group, reading
 * with the same fetch settings (`highWaterMark` 512 records, at most 1 MiB per partition per
 * fetch, Kafka's `max.partition.fetch.bytes` default: 200 000 records arrive in four fetches
 * while the window runs). Both:
 *
 * - decode each value as JSON and call an `async` no-op handler with it, at most 100 at a
 *   time (the raw loop stops reading while 100 are pending);
 * - commit, per partition, only the contiguous prefix of settled offsets (a pending earlier
 *   record holds back every later one: at-least-once with concurrency), at most one commit in
 *   flight and at most one per 100 ms, and a last one at the end;
 * - leave the group at the end.
 *
 * The window starts when the contender starts consuming (joining the group, the first fetch
 * and its decoding are in it) and stops once the last commit is done and the consumer left
 * the group. Joining waits about 3 s for the broker's `group.initial.rebalance.delay.ms`: that
 * idle wait (the wall time of the client's `joinGroup`, seen through its diagnostics channel)
 * is left out of msgs/s, its CPU (little) stays in the CPU per record.
 *
 * Besides msgs/s (wall clock, sensitive to other load on the machine) each row gives the CPU
 * time of the process per record over the window (`process.cpuUsage`), which another process
 * sharing the cores does not inflate.
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json &&
 *        node .bench/connectors/kafka.js [count] [rounds] [raw,batch,continuous]
 * (the third argument runs a subset of the contenders). With KAFKA_BENCH_PROFILE=<dir>, a CPU
 * profile of each measured window (not of the set-up) is written there, for `--cpu-prof`-like
 * analysis of the hot path alone.
 */
import { Consumer } from '@platformatic/kafka';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { consume, consumerTask, type LoopMode, type Transaction } from 'ergon-rx';
import { KafkaConnector } from 'ergon-rx/kafka';
import {
  ClientActivity,
  dropTopic,
  fillTopic,
  groupLag,
  kafkaBrokers as brokers,
  PacedCommits,
} from '../contenders/kafka-topics.js';
import {
  measureRounds,
  onFresh,
  resultTable,
  type Contender,
  type Stopwatch,
  type WindowHooks,
} from './rounds.js';

const count = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 3);
const only = process.argv[4]?.split(',');
const batch = 100;
/** Kafka's default `max.partition.fetch.bytes`. */
const partitionFetchBytes = 1_048_576;
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
  await fillTopic(topic, 4, count, () => body);
  return topic;
}

const activity = new ClientActivity();
/** Per measured run: the join's wall seconds and CPU µs, and the fetch requests. */
const runActivity: { join: number; joinCpu: number; fetches: number }[] = [];

/** Times `run` from the start of consumption, leaving the group joins' idle wait out of the rate. */
async function timed(clock: Stopwatch, run: () => Promise<void>): Promise<void> {
  const { joinSeconds, joinCpuMicros, fetches } = activity;
  clock.start();
  await run();
  const join = activity.joinSeconds - joinSeconds;
  clock.leaveOut(join);
  clock.stop();
  runActivity.push({
    join,
    joinCpu: activity.joinCpuMicros - joinCpuMicros,
    fetches: activity.fetches - fetches,
  });
}

/** The handler both contenders call per record: async, doing nothing. */
async function handle(_order: { qty: number }): Promise<void> {}

/** The records of one partition handed to the handler, in offset order, until they settle. */
class PendingOffsets {
  private offsets: bigint[] = [];
  private settled: boolean[] = [];
  /** The slot of `offsets[0]`: the settled prefix is dropped now and then. */
  private base = 0;
  private head = 0;
  /** One past the contiguous settled prefix (`-1n`: nothing settled yet). */
  commitable = -1n;
  committed = -1n;

  /** Holds `offset`; returns its slot for {@link settle}. */
  hold(offset: bigint): number {
    this.settled.push(false);
    return this.base + this.offsets.push(offset) - 1;
  }

  settle(slot: number): void {
    const { settled } = this;
    settled[slot - this.base] = true;
    let head = this.head;
    while (head < settled.length && settled[head] === true) head++;
    if (head === this.head) return;
    this.commitable = (this.offsets[head - 1] as bigint) + 1n;
    if (head >= 1024) {
      this.offsets = this.offsets.slice(head);
      this.settled = settled.slice(head);
      this.base += head;
      head = 0;
    }
    this.head = head;
  }
}

/**
 * A hand-written at-least-once consumer: the group stream, `handle` per record with at most
 * 100 pending, commits of each partition's contiguous settled prefix (one in flight, at most
 * one per 100 ms, a last one at the end).
 */
async function rawDriver(topic: string, clock: Stopwatch): Promise<void> {
  const consumer = new Consumer({
    clientId: 'ergon-bench',
    bootstrapBrokers: brokers,
    groupId: `ergon-${topic}`,
  });
  let done = 0;
  let settled = 0;
  let sum = 0;
  await timed(clock, async () => {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      highWaterMark: 512,
      maxBytesPerPartition: partitionFetchBytes,
    });
    const partitions = new Map<number, PendingOffsets>();
    const commit = async (): Promise<void> => {
      const offsets = [];
      for (const [partition, pending] of partitions) {
        if (pending.commitable > pending.committed) {
          offsets.push({ topic, partition, offset: pending.commitable, leaderEpoch: -1 });
        }
      }
      if (offsets.length === 0) return;
      await consumer.commit({ offsets });
      for (const { partition, offset } of offsets) {
        const pending = partitions.get(partition);
        if (pending !== undefined && offset > pending.committed) pending.committed = offset;
      }
    };
    const commits = new PacedCommits(commit);
    let pending = 0;
    let slotFree: (() => void) | null = null;
    for await (const message of stream) {
      const order = JSON.parse(message.value.toString()) as { qty: number };
      sum += order.qty;
      let offsets = partitions.get(message.partition);
      if (offsets === undefined) {
        offsets = new PendingOffsets();
        partitions.set(message.partition, offsets);
      }
      const slot = offsets.hold(message.offset);
      const held = offsets;
      pending++;
      handle(order).then(
        () => {
          held.settle(slot);
          settled++;
          pending--;
          commits.soon();
          if (slotFree !== null) {
            const free = slotFree;
            slotFree = null;
            free();
          }
        },
        (error: unknown) => console.error(error),
      );
      if (++done === count) break;
      if (pending >= batch) await new Promise<void>((resolve) => (slotFree = resolve));
    }
    while (pending > 0) await new Promise<void>((resolve) => (slotFree = resolve));
    await commits.last();
    await stream.close();
    await consumer.close(); // leaves the group, as the connector's close does
  });
  if (sum !== count * 3 || settled !== count) {
    throw new Error(`raw driver: decoded ${sum / 3}, settled ${settled} of ${count}`);
  }
}

async function ergon(topic: string, mode: LoopMode, clock: Stopwatch): Promise<void> {
  const connector = new KafkaConnector({ topic, brokers, fetchWait: 1000, partitionFetchBytes });
  const task = consumerTask({
    process: (transaction: Transaction<{ qty: number }>) => handle(transaction.payload),
  });
  let outcomes = 0;
  await timed(clock, async () => {
    await new Promise<void>((resolve, reject) =>
      consume(connector, task, {
        loop: { mode, concurrency: { value: batch }, limit: count, streaming: true },
        fetch: { batch: { size: batch } },
      }).subscribe({
        next: () => {
          outcomes++;
        },
        error: reject,
        complete: resolve,
      }),
    );
    await connector.close(); // the last commit, leaving the group
  });
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes of ${count}`);
}

/** A contender run on a fresh topic, checked to have committed every record. */
function onFreshTopic(run: (topic: string, clock: Stopwatch) => Promise<void>): Contender {
  return onFresh(freshTopic, dropTopic, async (topic, clock) => {
    await run(topic, clock);
    const left = await groupLag(topic, `ergon-${topic}`);
    if (left !== 0) throw new Error(`${left} records left uncommitted`);
  });
}

const rawName = 'raw @platformatic/kafka (stream, 100 pending, prefix commits)';
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
const range = (values: readonly number[]): string =>
  `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
console.log(
  `Per run: joining the group ${range(runActivity.map((r) => r.join * 1000))} ms wall (left out of msgs/s), ` +
    `${range(runActivity.map((r) => r.joinCpu / 1000))} ms CPU (counted); ` +
    `${range(runActivity.map((r) => r.fetches))} fetch requests.`,
);
