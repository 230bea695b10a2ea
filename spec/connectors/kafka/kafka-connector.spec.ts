import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from '@platformatic/kafka';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction, type Transaction } from '../../../lib/index.js';
import type { KafkaConnector } from '../../../lib/connectors/kafka/index.js';
import {
  KafkaTopicError,
  type KafkaTransactionMetadata,
} from '../../../lib/connectors/kafka/index.js';
import { uniqueName } from '../../support/real-service.js';
import { kafkaBrokers, kafkaSuite } from './fixtures/kafka-suite.js';

const brokers = kafkaBrokers;
type Payload = { n: number; key?: string };

const meta = (tx: Transaction): KafkaTransactionMetadata =>
  tx.metadata as unknown as KafkaTransactionMetadata;

describe('KafkaConnector (real Kafka)', function () {
  this.timeout(60_000);
  const suite = kafkaSuite<Payload>();
  const connector = suite.open;
  const newTopic = (): string => suite.newTopic();

  async function fetchSome(
    from: KafkaConnector<Payload>,
    atLeast: number,
    within = 20_000,
  ): Promise<Transaction<Payload>[]> {
    const got: Transaction<Payload>[] = [];
    const deadline = Date.now() + within;
    while (got.length < atLeast && Date.now() < deadline) {
      got.push(...(await lastValueFrom(from.fetch({ size: 100, extra: {} }).pipe(toArray()))));
    }
    return got;
  }

  /** The group's committed offset per partition (-1: none). */
  async function committed(group: string, topic: string, partitions: number): Promise<bigint[]> {
    const probe = new Consumer({
      clientId: 'ergon-spec',
      bootstrapBrokers: brokers,
      groupId: group,
    });
    try {
      const commits = await probe.listCommittedOffsets({
        topics: [{ topic, partitions: Array.from({ length: partitions }, (_, p) => p) }],
      });
      return commits.get(topic) ?? [];
    } finally {
      await probe.close();
    }
  }

  async function waitForCommit(
    group: string,
    topic: string,
    partition: number,
    offset: bigint,
  ): Promise<void> {
    for (let tries = 0; tries < 100; tries++) {
      if ((await committed(group, topic, partition + 1))[partition] === offset) return;
      await sleep(100);
    }
    throw new Error(`partition ${partition} never committed ${offset}`);
  }

  const numbered = (count: number, key?: (n: number) => string): Transaction<Payload>[] =>
    Array.from({ length: count }, (_, n) =>
      createTransaction<Payload>(
        { n },
        { id: `tx-${n}`, metadata: key === undefined ? {} : { key: key(n) } },
      ),
    );

  it('commits only the settled prefix: a restart delivers again everything from the first unsettled record', async () => {
    const topic = newTopic();
    const first = connector({ topic });
    await first.dispatch(numbered(10));
    const got = await fetchSome(first, 10);
    expect(got.map((tx) => tx.payload.n)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 4 is released (delivered again here), 6 stays in flight; every other one is acked.
    for (const tx of got) {
      if (tx.payload.n === 6) continue;
      await first.settle(
        tx,
        tx.payload.n === 4 ? { type: 'release', reason: 'shutdown' } : { type: 'ack' },
      );
    }
    await waitForCommit(first.group, topic, 0, 4n);
    const [again] = await fetchSome(first, 1);
    expect(again?.payload.n).to.equal(4);
    expect(meta(again as Transaction).deliveries).to.equal(2);
    await first.settle(again as Transaction<Payload>, { type: 'ack' });
    await waitForCommit(first.group, topic, 0, 6n);
    await first.close();
    expect((await committed(first.group, topic, 1))[0], 'held back by the unsettled 6').to.equal(
      6n,
    );

    const restarted = connector({ topic });
    const redelivered = await fetchSome(restarted, 4);
    expect(redelivered.map((tx) => tx.payload.n)).to.deep.equal([6, 7, 8, 9]);
  });

  it('a rebalance during processing never commits past an unsettled offset; the new owner delivers those records again', async () => {
    const topic = newTopic();
    const partitions = 4;
    // A never settles the held records during the drain: at its deadline it lets them go.
    const a = connector({ topic, partitions, drainTimeout: 1000 });
    await a.declare();
    await a.dispatch(numbered(40, (n) => `key-${n % 8}`));
    const held = await fetchSome(a, 40);
    expect(held).to.have.length(40);
    // In every partition, the second record stays unsettled; the rest are acked.
    const byPartition = new Map<number, Transaction<Payload>[]>();
    for (const tx of held) {
      const list = byPartition.get(meta(tx).partition) ?? [];
      list.push(tx);
      byPartition.set(meta(tx).partition, list);
    }
    const unsettled = [...byPartition.values()].flatMap((list) => list.slice(1, 2));
    for (const tx of held) if (!unsettled.includes(tx)) await a.settle(tx, { type: 'ack' });
    const limit = new Map(unsettled.map((tx) => [meta(tx).partition, BigInt(meta(tx).offset)]));
    for (const [partition, offset] of limit) await waitForCommit(a.group, topic, partition, offset);

    // A second consumer joins: the group rebalances while A still holds the unsettled ones.
    const b = connector({ topic, partitions });
    const takenOver = fetchSome(b, unsettled.length, 30_000);
    for (let tries = 0; tries < 200; tries++) {
      await lastValueFrom(a.fetch({ size: 10, extra: {} }).pipe(toArray())); // keeps A in the group
      const commits = await committed(a.group, topic, partitions);
      commits.forEach((commit, partition) => {
        const bound = limit.get(partition);
        if (bound !== undefined) expect(commit <= bound, `partition ${partition}`).to.equal(true);
      });
      if ((await Promise.race([takenOver, sleep(50).then(() => null)])) !== null) break;
    }
    // A settles its held records after the rebalance: still no commit past them for partitions it lost.
    for (const tx of unsettled) await a.settle(tx, { type: 'ack' });
    const again = await takenOver;
    const commits = await committed(a.group, topic, partitions);
    const redeliveredToB = new Set(again.map((tx) => tx.id));
    for (const tx of unsettled) {
      const partition = meta(tx).partition;
      if (redeliveredToB.has(tx.id)) {
        expect((commits[partition] as bigint) <= (limit.get(partition) as bigint)).to.equal(true);
      }
    }
    expect(redeliveredToB.size, 'records B took over').to.be.greaterThan(0);
    expect(
      again.every((tx) => BigInt(meta(tx).offset) >= (limit.get(meta(tx).partition) as bigint)),
      'B starts at the first unsettled offset of each partition it took',
    ).to.equal(true);
  });

  it('drains revoked partitions: stops starting their records, commits what settles within the deadline, and the new owner delivers none of those again', async () => {
    const topic = newTopic();
    const partitions = 2;
    const a = connector({ topic, partitions, drainTimeout: 15_000 });
    await a.declare();
    await a.dispatch(numbered(40, (n) => `key-${n % 8}`));
    const inFlight = await fetchSome(a, 40);
    expect(inFlight).to.have.length(40);
    // A acks the first record of each partition and holds the rest in flight.
    const firstOf = new Set<number>();
    const acked = new Set<string>();
    for (const tx of inFlight) {
      if (firstOf.has(meta(tx).partition)) continue;
      firstOf.add(meta(tx).partition);
      await a.settle(tx, { type: 'ack' });
      acked.add(tx.id);
    }

    // B joins; A keeps fetching (a member that stops polling is not what this is about).
    const b = connector({ topic, partitions });
    const bGot: Transaction<Payload>[] = [];
    let stopB = false;
    const bPolling = (async () => {
      while (!stopB) {
        bGot.push(...(await lastValueFrom(b.fetch({ size: 100, extra: {} }).pipe(toArray()))));
      }
    })();
    const aGotWhileDraining: Transaction<Payload>[] = [];
    let revoked: readonly number[] = [];
    for (let tries = 0; tries < 100 && revoked.length === 0 && bGot.length === 0; tries++) {
      aGotWhileDraining.push(
        ...(await lastValueFrom(a.fetch({ size: 100, extra: {} }).pipe(toArray()))),
      );
      revoked = a.drainingPartitions;
    }
    expect(bGot, 'B gets nothing while A still holds the partition').to.deep.equal([]);
    expect(revoked, 'partitions revoked from A').to.have.length(1);
    const lost = revoked[0] as number;
    expect(aGotWhileDraining, 'nothing fetched twice before the rebalance').to.deep.equal([]);

    // Records written to the revoked partition now are not started by A.
    const later = Array.from({ length: 30 }, (_, n) =>
      createTransaction<Payload>(
        { n: 100 + n },
        { id: `late-${n}`, metadata: { key: `late-${n}` } },
      ),
    );
    await a.dispatch(later);
    for (let round = 0; round < 3; round++) {
      aGotWhileDraining.push(
        ...(await lastValueFrom(a.fetch({ size: 100, extra: {} }).pipe(toArray()))),
      );
    }
    expect(
      aGotWhileDraining.filter((tx) => meta(tx).partition === lost),
      'records of the revoked partition started by A while it drains',
    ).to.deep.equal([]);
    expect(bGot, 'B gets nothing while A still holds the partition').to.deep.equal([]);

    // A's transactions in flight settle within the deadline: they are committed, and B
    // starts after them.
    const settledAt = Date.now();
    for (const tx of [...inFlight, ...aGotWhileDraining]) {
      if (acked.has(tx.id)) continue;
      await a.settle(tx, { type: 'ack' });
      acked.add(tx.id);
    }
    const lateIds = new Set(later.map((tx) => tx.id));
    const lateSeen = (): number =>
      new Set([...aGotWhileDraining, ...bGot].map((tx) => tx.id).filter((id) => lateIds.has(id)))
        .size;
    for (let tries = 0; tries < 300 && lateSeen() < later.length; tries++) {
      aGotWhileDraining.push(
        ...(await lastValueFrom(a.fetch({ size: 100, extra: {} }).pipe(toArray()))),
      );
    }
    stopB = true;
    await bPolling;
    expect(lateSeen(), 'every late record delivered once to A or B').to.equal(later.length);
    expect(Date.now() - settledAt, 'handed over well before the deadline').to.be.below(12_000);
    expect(a.drainingPartitions).to.deep.equal([]);
    expect(
      aGotWhileDraining.filter((tx) => meta(tx).partition === lost),
      'records of the revoked partition started by A',
    ).to.deep.equal([]);
    expect(
      bGot.filter((tx) => acked.has(tx.id)).map((tx) => tx.id),
      'settled by A during the drain and delivered again by B',
    ).to.deep.equal([]);
    expect(bGot.length, 'B took the late records of the partition').to.be.greaterThan(0);
    expect(bGot.every((tx) => meta(tx).partition === lost && lateIds.has(tx.id))).to.equal(true);
    const drained = inFlight.filter((tx) => meta(tx).partition === lost).length;
    const commits = await committed(a.group, topic, partitions);
    expect(commits[lost], 'A committed the records it drained').to.equal(BigInt(drained));
  });

  it('keeps record order per partition, and keyed processing per key on top (metadata.key from the record key)', async () => {
    const topic = newTopic();
    const source = connector({ topic, partitions: 3 });
    const keys = ['ada', 'bob', 'cy', 'dee', 'eve'];
    await source.dispatch(numbered(100, (n) => keys[n % keys.length] as string));
    const order = new Map<string, number[]>();
    const outcomes = await lastValueFrom(
      consume(
        source,
        consumerTask<Payload, number>({
          key: (tx) => tx.metadata['key'] as string,
          process: async (tx) => {
            await sleep(tx.payload.n % 3);
            const key = tx.metadata['key'] as string;
            order.set(key, [...(order.get(key) ?? []), tx.payload.n]);
            return tx.payload.n;
          },
        }),
        { loop: { limit: 100, streaming: true, concurrency: { value: 16 } } },
      ).pipe(toArray()),
    );
    expect(outcomes.filter((o) => o.status === 'success')).to.have.length(100);
    for (const key of keys) {
      const seen = order.get(key) ?? [];
      expect(seen, key).to.deep.equal([...seen].sort((x, y) => x - y));
      expect(seen, key).to.have.length(20);
    }
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const outcome of outcomes) {
      const { key, partition } = meta(outcome.transaction);
      const set = partitionsOfKey.get(key as string) ?? new Set<number>();
      set.add(partition);
      partitionsOfKey.set(key as string, set);
    }
    for (const [key, set] of partitionsOfKey) expect(set.size, key).to.equal(1);
  });

  it('with createTopics off, a missing topic is a KafkaTopicError naming the fix', async () => {
    const absent = connector({ topic: uniqueName('ergon_kafka_absent'), createTopics: false });
    let error: unknown;
    try {
      await absent.dispatch(numbered(1));
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(KafkaTopicError);
    expect((error as Error).message).to.match(/does not exist and createTopics is off/);
  });

  it('counts the group lag, and reports health', async () => {
    const topic = newTopic();
    const counted = connector({ topic, partitions: 2 });
    await counted.dispatch(numbered(7));
    expect(await lastValueFrom(counted.count())).to.equal(7);
    const got = await fetchSome(counted, 7);
    for (const tx of got.slice(0, 3)) await counted.settle(tx, { type: 'ack' });
    const healthy = await lastValueFrom(counted.health());
    expect(healthy).to.deep.equal({ healthy: true, state: 'connected' });
    await counted.close();
    expect(await lastValueFrom(counted.health())).to.deep.include({
      healthy: false,
      state: 'closed',
    });
  });
});
