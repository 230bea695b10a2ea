/**
 * What the Kafka benchmarks share: the local broker, a fresh topic filled with JSON records,
 * its removal, the group's lag, and the wall time the process's consumers spend joining a
 * group (which a measured window leaves out of its rate).
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { Admin, Consumer, Producer, ProduceAcks } from '@platformatic/kafka';

export const kafkaBrokers = ['127.0.0.1:9092'];

/**
 * Creates `topic` (and `<topic>.dead`, where the connector would put dead letters) with
 * `partitions` partitions and writes `count` records to it, 1000 per produce request
 * (idempotent producer, acks=all): value `value(n)`, key `k<n mod 64>`.
 */
export async function fillTopic(
  topic: string,
  partitions: number,
  count: number,
  value: (n: number) => Buffer,
): Promise<void> {
  const admin = new Admin({ clientId: 'ergon-bench', bootstrapBrokers: kafkaBrokers });
  await admin.createTopics({ topics: [topic, `${topic}.dead`], partitions, replicas: 1 });
  await admin.close();
  const producer = new Producer({
    clientId: 'ergon-bench',
    bootstrapBrokers: kafkaBrokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  });
  for (let sent = 0; sent < count; sent += 1000) {
    const chunk = Math.min(1000, count - sent);
    await producer.send({
      messages: Array.from({ length: chunk }, (_, i) => ({
        topic,
        key: Buffer.from(`k${(sent + i) % 64}`),
        value: value(sent + i),
      })),
    });
  }
  await producer.close();
}

/** Deletes `topic` and `<topic>.dead`. */
export async function dropTopic(topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'ergon-bench', bootstrapBrokers: kafkaBrokers });
  await admin.deleteTopics({ topics: [topic, `${topic}.dead`] });
  await admin.close();
}

/** Records of `topic` not committed by `group` (0 once a run committed everything). */
export async function groupLag(topic: string, group: string): Promise<number> {
  const consumer = new Consumer({
    clientId: 'ergon-bench',
    bootstrapBrokers: kafkaBrokers,
    groupId: group,
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

function noop(): void {}

/**
 * What the clients of this process do besides handing out records, seen through the client's
 * diagnostics channels: the wall and CPU time spent in `joinGroup` (the broker holds a new
 * group's first join for `group.initial.rebalance.delay.ms`, 3 s here; overlapping joins
 * count once), and the fetch requests sent.
 */
export class ClientActivity {
  private joining = 0;
  private since = 0n;
  private cpuSince: NodeJS.CpuUsage = process.cpuUsage();
  private joinNanos = 0n;
  /** CPU µs spent while a join was under way. */
  joinCpuMicros = 0;
  fetches = 0;

  constructor() {
    tracingChannel<string, { operation?: string }>('plt:kafka:consumer:group').subscribe({
      start: (context) => {
        if (context.operation === 'joinGroup' && this.joining++ === 0) {
          this.since = process.hrtime.bigint();
          this.cpuSince = process.cpuUsage();
        }
      },
      end: noop,
      asyncStart: noop,
      asyncEnd: (context) => {
        if (context.operation === 'joinGroup' && --this.joining === 0) {
          this.joinNanos += process.hrtime.bigint() - this.since;
          const used = process.cpuUsage(this.cpuSince);
          this.joinCpuMicros += used.user + used.system;
        }
      },
      error: noop,
    });
    tracingChannel('plt:kafka:consumer:fetches').subscribe({
      start: () => {
        this.fetches++;
      },
      end: noop,
      asyncStart: noop,
      asyncEnd: noop,
      error: noop,
    });
  }

  /** Seconds spent joining so far. */
  get joinSeconds(): number {
    return Number(this.joinNanos) / 1e9;
  }
}

/**
 * How both raw Kafka consumers of the benches commit, as the connector does (its
 * `commitInterval`): `commit` runs at most once at a time and at most once per 100 ms.
 *
 * @example
 * ```ts
 * const commits = new PacedCommits(() => consumer.commit({ offsets: settledPrefix() }));
 * commits.soon(); // after each settlement
 * await commits.last(); // at the end: waits for a running one, then commits once more
 * ```
 */
export class PacedCommits {
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;

  constructor(private readonly commit: () => Promise<void>) {}

  /** Commits once the last one is done and 100 ms have passed since it (unless one is due). */
  soon(): void {
    if (this.running !== null || this.timer !== null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.running = this.run().finally(() => {
          this.running = null;
        });
      },
      Math.max(0, this.lastAt + 100 - Date.now()),
    );
  }

  /** The final commit: a due one is dropped, a running one awaited, then one more. */
  async last(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.run();
  }

  private run(): Promise<void> {
    this.lastAt = Date.now();
    return this.commit();
  }
}
