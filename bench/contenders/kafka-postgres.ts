/**
 * A Kafka → PostgreSQL pipeline, shaped like Redpanda Connect's Kafka → PostgreSQL pipelines
 * (a `kafka` input reading a topic of JSON records in a consumer group, an `sql_insert`
 * output writing batches of rows): `count` JSON order records on a topic of 4 partitions
 * (written before the clock starts), read in a fresh consumer group and inserted into a fresh
 * PostgreSQL table, one multi-row INSERT (`unnest` of column arrays) per batch of `batch`
 * records on one connection, the batch's offsets committed only after its INSERT. Both
 * contenders read with the same client settings (`@platformatic/kafka`, 512 records read
 * ahead, at most 1 MiB per partition per fetch) and commit the same way (the contiguous
 * settled prefix of each partition, one commit in flight, at most one per 100 ms, a last one
 * at the end).
 *
 * The window starts when the contender starts consuming and ends once the last commit is done
 * and the consumer left the group; the wall time spent joining the group (about 3 s, the
 * broker's `group.initial.rebalance.delay.ms`, idle) is left out of the rate, its CPU is not.
 * Each run checks that every record became a row and that the group's lag is 0.
 */
import { Consumer } from '@platformatic/kafka';
import pg from 'pg';
import { consume, consumerTask, type BatchItemResult, type Transaction } from 'ergon-rx';
import { KafkaConnector } from 'ergon-rx/kafka';
import {
  ClientActivity,
  dropTopic,
  fillTopic,
  groupLag,
  kafkaBrokers,
  PacedCommits,
} from './kafka-topics.js';
import type { RunResult } from './run-result.js';
import { successes } from './successes.js';

const postgresUrl = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** One run of the pipeline. */
export interface KafkaPostgresRun {
  readonly count: number;
  /** Records per INSERT (and per fetch of ergon-rx's batch loop). */
  readonly batch: number;
}

/** One record on the topic. */
interface Order {
  readonly id: number;
  readonly customer: string;
  readonly item: string;
  readonly quantity: number;
  readonly cents: number;
}

const items = ['widget', 'gadget', 'sprocket', 'flange'];

function order(n: number): Buffer {
  const value: Order = {
    id: n,
    customer: `customer-${n % 64}`,
    item: items[n % items.length] ?? 'widget',
    quantity: 1 + (n % 5),
    cents: 199 + (n % 1000),
  };
  return Buffer.from(JSON.stringify(value));
}

const insert = (table: string): string =>
  `INSERT INTO ${table} (id, customer, item, quantity, cents) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[])`;

function columns(orders: readonly Order[]): unknown[] {
  return [
    orders.map((o) => o.id),
    orders.map((o) => o.customer),
    orders.map((o) => o.item),
    orders.map((o) => o.quantity),
    orders.map((o) => o.cents),
  ];
}

const activity = new ClientActivity();

interface Pipeline {
  readonly topic: string;
  readonly table: string;
  readonly group: string;
  readonly pool: pg.Pool;
}

/**
 * Sets up a fresh topic (filled) and table, runs `consumeAll` timed, checks the rows and the
 * lag, and tears everything down. `extra.windowCpu` is this process's CPU µs per record over
 * the window (the suite's CPU column also counts filling the topic).
 */
async function pipeline(
  run: KafkaPostgresRun,
  consumeAll: (pipeline: Pipeline) => Promise<void>,
): Promise<RunResult> {
  const topic = `ergon_bench_kpg_${process.pid}_${Date.now().toString(36)}`;
  const table = topic;
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  await pool.query(
    `CREATE TABLE ${table} (id bigint PRIMARY KEY, customer text NOT NULL, item text NOT NULL, quantity integer NOT NULL, cents integer NOT NULL)`,
  );
  try {
    await fillTopic(topic, 4, run.count, order);
    const group = `ergon-${topic}`;
    const joined = activity.joinSeconds;
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await consumeAll({ topic, table, group, pool });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const join = activity.joinSeconds - joined;
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    const left = await groupLag(topic, group);
    if (rows[0]?.n !== run.count || left !== 0) {
      throw new Error(`${rows[0]?.n} rows of ${run.count}, ${left} records left uncommitted`);
    }
    return {
      count: run.count,
      seconds: wall - join,
      latency: null,
      extra: { windowCpu: (cpu.user + cpu.system) / run.count, joinSeconds: join },
    };
  } finally {
    await dropTopic(topic);
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  }
}

/**
 * ergon-rx: `consume(KafkaConnector, consumerTask({ processBatch }))` in batch mode, fetches
 * of `batch` records processed as one batch (one INSERT), acked once it is written.
 */
export function ergonKafkaPostgres(run: KafkaPostgresRun): Promise<RunResult> {
  return pipeline(run, async ({ topic, table, pool }) => {
    const connector = new KafkaConnector<Order>({
      topic,
      brokers: kafkaBrokers,
      fetchWait: 1000,
      partitionFetchBytes: 1_048_576,
    });
    const sql = insert(table);
    const task = consumerTask({
      processBatch: async (txs: readonly Transaction<Order>[]) => {
        await pool.query(sql, columns(txs.map((tx) => tx.payload)));
        return txs.map((): BatchItemResult<void> => ({ ok: true }));
      },
    });
    try {
      const done = await successes(
        consume(connector, task, {
          loop: {
            mode: 'batch',
            concurrency: { value: run.batch },
            limit: run.count,
            streaming: true,
          },
          fetch: { batch: { size: run.batch } },
          process: { batch: { size: run.batch, maxWait: 0 } },
        }),
      );
      if (done !== run.count) throw new Error(`${done} outcomes of ${run.count}`);
    } finally {
      await connector.close(); // the last commit, leaving the group
    }
  });
}

/**
 * The raw clients: the group stream of `@platformatic/kafka` read into batches of up to
 * `batch` records (a batch goes when full or when the stream has nothing more buffered), each
 * decoded, inserted with one statement, then its offsets marked for the next commit.
 */
export function rawKafkaPostgres(run: KafkaPostgresRun): Promise<RunResult> {
  return pipeline(run, async ({ topic, table, group, pool }) => {
    const consumer = new Consumer({
      clientId: 'ergon-bench',
      bootstrapBrokers: kafkaBrokers,
      groupId: group,
    });
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      highWaterMark: 512,
      maxBytesPerPartition: 1_048_576,
    });
    const sql = insert(table);
    /** Per partition: one past the last offset written (the settled prefix). */
    const written = new Map<number, bigint>();
    const committed = new Map<number, bigint>();
    const commit = async (): Promise<void> => {
      const offsets = [];
      for (const [partition, offset] of written) {
        if (offset > (committed.get(partition) ?? -1n)) {
          offsets.push({ topic, partition, offset, leaderEpoch: -1 });
        }
      }
      if (offsets.length === 0) return;
      await consumer.commit({ offsets });
      for (const { partition, offset } of offsets) committed.set(partition, offset);
    };
    const commits = new PacedCommits(commit);
    let orders: Order[] = [];
    let ends = new Map<number, bigint>();
    let done = 0;
    const flush = async (): Promise<void> => {
      await pool.query(sql, columns(orders));
      for (const [partition, offset] of ends) written.set(partition, offset);
      done += orders.length;
      orders = [];
      ends = new Map();
      commits.soon();
    };
    for await (const message of stream) {
      orders.push(JSON.parse(message.value.toString()) as Order);
      ends.set(message.partition, message.offset + 1n);
      if (orders.length === run.batch || stream.readableLength === 0) await flush();
      if (done === run.count) break;
    }
    if (orders.length > 0) await flush();
    await commits.last();
    await stream.close();
    await consumer.close(); // leaves the group
  });
}
