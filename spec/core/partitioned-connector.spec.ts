import { expect } from 'chai';
import fc from 'fast-check';
import { lastValueFrom, NEVER, Observable, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  fnv1a32,
  MemoryConnector,
  partitionedConnector,
  PartitionCapabilityError,
  PartitionConfigError,
  partitionOf,
  SettlementError,
  transactionKey,
  workerPartitions,
  type Connector,
  type FetchRequest,
  type Transaction,
} from '../../lib/index.js';

type Payload = { readonly key: string | undefined; readonly n: number };

function memoryPartitions(count: number): MemoryConnector<Payload>[] {
  return Array.from({ length: count }, () => new MemoryConnector<Payload>({ record: true }));
}

function keyed(key: string | undefined, n: number): Transaction<Payload> {
  return createTransaction(
    { key, n },
    { id: `tx-${n}`, metadata: key === undefined ? {} : { key } },
  );
}

/** One fetch, synchronously (memory partitions fetch synchronously). */
function fetchNow<P>(connector: Connector<P>, size: number): Transaction<P>[] {
  let result: Transaction<P>[] | undefined;
  connector
    .fetch({ size, extra: {} })
    .pipe(toArray())
    .subscribe((all) => (result = all));
  if (result === undefined) throw new Error('the fetch did not complete synchronously');
  return result;
}

describe('partitionedConnector', () => {
  describe('configuration', () => {
    it('can schedule what every partition can: memory partitions delay, a plain connector does not', () => {
      const memory = partitionedConnector({ partitions: memoryPartitions(2) });
      expect(memory.scheduling).to.deep.equal({
        delayedRelease: true,
        notBefore: true,
        priority: false,
      });
      const [first] = memoryPartitions(1) as [MemoryConnector<Payload>];
      const plain = { fetch: (request: FetchRequest) => first.fetch(request) };
      const mixed = partitionedConnector<Payload>({ partitions: [first, plain] });
      expect(mixed.scheduling.delayedRelease).to.equal(false);
    });

    it('an empty partitions list throws PartitionConfigError saying what to give', () => {
      expect(() => partitionedConnector({ partitions: [] }))
        .to.throw(PartitionConfigError)
        .with.property('message')
        .that.matches(/non-empty list of partitions/);
    });

    it('a consume index out of range, repeated or not an integer throws PartitionConfigError', () => {
      const partitions = memoryPartitions(4);
      expect(() => partitionedConnector({ partitions, consume: [0, 4] }))
        .to.throw(PartitionConfigError)
        .with.property('message')
        .that.matches(/lists 4, but partition indexes run from 0 to 3 \(4 partitions\)/);
      expect(() => partitionedConnector({ partitions, consume: [1, 1] })).to.throw(
        PartitionConfigError,
        /partition 1 twice/,
      );
      expect(() => partitionedConnector({ partitions, consume: [0.5] })).to.throw(
        PartitionConfigError,
      );
      expect(() => partitionedConnector({ partitions, consume: [-1] })).to.throw(
        PartitionConfigError,
      );
    });

    it('a partition that is not a connector throws PartitionConfigError naming its index', () => {
      const partitions = [new MemoryConnector(), {}] as unknown as Connector[];
      expect(() => partitionedConnector({ partitions })).to.throw(
        PartitionConfigError,
        /partition 1 of partitionedConnector is not a connector/,
      );
    });

    it('workerPartitions: worker i of W takes the partitions p with p mod W = i − 1', () => {
      expect(workerPartitions(4, { workerId: 1, workers: 2 })).to.deep.equal([0, 2]);
      expect(workerPartitions(4, { workerId: 2, workers: 2 })).to.deep.equal([1, 3]);
      expect(workerPartitions(5, { workerId: 3, workers: 3 })).to.deep.equal([2]);
      expect(workerPartitions(4, { workerId: 0, workers: 1 })).to.deep.equal([0, 1, 2, 3]);
      expect(workerPartitions(2, { workerId: 3, workers: 3 })).to.deep.equal([]);
      expect(() => workerPartitions(4, { workerId: 3, workers: 2 })).to.throw(
        PartitionConfigError,
        /worker ids run from 1 to 2/,
      );
      expect(() => workerPartitions(0, { workerId: 1, workers: 1 })).to.throw(PartitionConfigError);
    });
  });

  describe('routing', () => {
    it('FNV-1a 32-bit of the UTF-8 key: known values, and partitionOf is the hash mod N', () => {
      expect(fnv1a32('')).to.equal(0x811c9dc5);
      expect(fnv1a32('a')).to.equal(0xe40c292c);
      expect(fnv1a32('foobar')).to.equal(0xbf9cf968);
      // UTF-8 bytes, not UTF-16 code units: 'é' is 0xc3 0xa9.
      expect(fnv1a32('é')).to.equal(
        Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0,
      );
      expect(partitionOf('foobar', 4)).to.equal(0xbf9cf968 % 4);
    });

    it('routes by metadata.key, the same way every time; a transaction without a key by its id', () => {
      const partitions = memoryPartitions(4);
      const connector = partitionedConnector({ partitions });
      const keys = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara'];
      const batch = Array.from({ length: 60 }, (_, n) => keyed(keys[n % keys.length], n));
      const keyless = [keyed(undefined, 100), keyed(undefined, 101), keyed('', 102)];
      void connector.dispatch([...batch, ...keyless]);
      void connector.dispatch(batch.map((tx) => keyed(tx.payload.key, tx.payload.n + 1000)));
      partitions.forEach((partition, index) => {
        for (const tx of partition.dispatched) {
          const key = transactionKey(tx) ?? tx.id;
          expect(fnv1a32(key) % 4, `${tx.id} in partition ${index}`).to.equal(index);
          expect(connector.partitionFor(tx)).to.equal(index);
        }
      });
      // Per key, the dispatch order is kept inside the key's partition.
      for (const key of keys) {
        const partition = partitions[partitionOf(key, 4)] as MemoryConnector<Payload>;
        const order = partition.dispatched
          .filter((tx) => tx.payload.key === key)
          .map((tx) => tx.payload.n);
        expect(order).to.deep.equal([...order].sort((a, b) => a - b));
        expect(order).to.have.length(20);
      }
      const total = partitions.reduce((sum, partition) => sum + partition.dispatched.length, 0);
      expect(total).to.equal(123);
    });

    it("calls each partition's dispatch once per batch, with its share in batch order", () => {
      const calls: string[][][] = [[], [], []];
      const partitions = [0, 1, 2].map(
        (index) =>
          new MemoryConnector<Payload>({
            onDispatch: (share) => {
              calls[index]?.push(share.map((tx) => tx.id));
              return undefined;
            },
          }),
      );
      const connector = partitionedConnector({ partitions });
      const batch = Array.from({ length: 30 }, (_, n) => keyed(`k${n % 7}`, n));
      void connector.dispatch(batch);
      for (const [index, made] of calls.entries()) {
        expect(made.length).to.be.at.most(1);
        const expected = batch
          .filter((tx) => connector.partitionFor(tx) === index)
          .map((tx) => tx.id);
        expect(made[0] ?? []).to.deep.equal(expected);
      }
    });

    it('merges the reports: failed entries are the original transactions, in batch order', async () => {
      const boom = new Error('partition refused');
      const partitions = [0, 1].map(
        () =>
          new MemoryConnector<Payload>({
            // Reports copies (same id), as a broker connector may.
            onDispatch: (share) => ({
              failed: share
                .filter((tx) => tx.payload.n % 3 === 0)
                .map((tx) => ({
                  transaction: createTransaction(tx.payload, { id: tx.id }),
                  error: boom,
                })),
            }),
          }),
      );
      const connector = partitionedConnector({ partitions });
      const batch = Array.from({ length: 12 }, (_, n) => keyed(`k${n}`, n));
      const report = await connector.dispatch(batch);
      expect(report.failed.map((failure) => failure.transaction)).to.deep.equal(
        batch.filter((tx) => tx.payload.n % 3 === 0),
      );
      for (const failure of report.failed) {
        expect(batch).to.include(failure.transaction);
        expect(failure.error).to.equal(boom);
      }
    });

    it('a partition that rejects its whole share has that share reported failed; when every partition rejects, dispatch rejects', async () => {
      const down = new Error('partition down');
      const healthy = new MemoryConnector<Payload>();
      const broken = new MemoryConnector<Payload>({
        onDispatch: () => {
          throw down;
        },
      });
      const connector = partitionedConnector({ partitions: [healthy, broken] });
      const batch = Array.from({ length: 20 }, (_, n) => keyed(`k${n}`, n));
      const report = await connector.dispatch(batch);
      const toBroken = batch.filter((tx) => connector.partitionFor(tx) === 1);
      expect(toBroken.length).to.be.greaterThan(0);
      expect(report.failed.map((failure) => failure.transaction)).to.deep.equal(toBroken);
      expect(report.failed.every((failure) => failure.error === down)).to.equal(true);
      expect(await lastValueFrom(healthy.count())).to.equal(batch.length - toBroken.length);

      const error = await connector.dispatch(toBroken).then(
        () => null,
        (failure: unknown) => failure,
      );
      expect(error).to.equal(down);
    });

    it('a partition that cannot dispatch: PartitionCapabilityError naming it, nothing sent', async () => {
      const readOnly: Connector<Payload> = {
        system: 'test',
        destination: 'orders.p1',
        fetch: () => NEVER,
      };
      const writable = new MemoryConnector<Payload>();
      const connector = partitionedConnector({ partitions: [writable, readOnly] });
      const batch = Array.from({ length: 10 }, (_, n) => keyed(`k${n}`, n));
      const error = await connector.dispatch(batch).then(
        () => null,
        (failure: unknown) => failure,
      );
      expect(error).to.be.instanceOf(PartitionCapabilityError);
      expect((error as PartitionCapabilityError).partition).to.equal(1);
      expect((error as Error).message).to.match(/partition 1 \(test orders\.p1\) cannot dispatch/);
      expect(await lastValueFrom(writable.count())).to.equal(0);
    });
  });

  describe('fetch and settle', () => {
    it('settles each transaction with the partition it was fetched from', () => {
      const partitions = memoryPartitions(3);
      const connector = partitionedConnector({ partitions });
      void connector.dispatch(Array.from({ length: 30 }, (_, n) => keyed(`k${n}`, n)));
      // Shares are equal, so a partition holding more than a third needs a second fetch.
      const fetched = [...fetchNow(connector, 30), ...fetchNow(connector, 30)];
      expect(fetched).to.have.length(30);
      for (const [n, tx] of fetched.entries()) {
        void connector.settle(
          tx,
          n % 2 === 0 ? { type: 'ack' } : { type: 'release', reason: 'shutdown' },
        );
      }
      partitions.forEach((partition, index) => {
        expect(partition.unsettled).to.equal(0);
        for (const settlement of partition.settlements) {
          expect(connector.partitionFor(settlement.transaction)).to.equal(index);
        }
      });
      expect(partitions.reduce((sum, p) => sum + p.settlements.length, 0)).to.equal(30);
    });

    it('settling a transaction it did not fetch, or twice, throws SettlementError', () => {
      const partitions = memoryPartitions(2);
      const connector = partitionedConnector({ partitions });
      expect(() => connector.settle(keyed('a', 1), { type: 'ack' }))
        .to.throw(SettlementError)
        .with.property('message')
        .that.matches(/tx-1 was not fetched through this partitioned connector/);
      void connector.dispatch([keyed('a', 2)]);
      const [tx] = fetchNow(connector, 1);
      if (tx === undefined) throw new Error('nothing fetched');
      connector.settle(tx, { type: 'ack' });
      expect(() => connector.settle(tx, { type: 'ack' })).to.throw(SettlementError);
    });

    it('fetches only from the consumed partitions', () => {
      const partitions = memoryPartitions(4);
      const producer = partitionedConnector({ partitions, consume: [] });
      const consumer = partitionedConnector({ partitions, consume: [1, 3] });
      const batch = Array.from({ length: 80 }, (_, n) => keyed(`k${n}`, n));
      void producer.dispatch(batch);
      expect(fetchNow(producer, 10)).to.deep.equal([]);
      const fetched = fetchNow(consumer, 100);
      expect(fetched.map((tx) => tx.id).sort()).to.deep.equal(
        batch
          .filter((tx) => [1, 3].includes(producer.partitionFor(tx)))
          .map((tx) => tx.id)
          .sort(),
      );
    });

    it('splits size fairly: a partition with a backlog cannot starve another', () => {
      const [busy, quiet] = memoryPartitions(2) as [
        MemoryConnector<Payload>,
        MemoryConnector<Payload>,
      ];
      busy.feed(...Array.from({ length: 1000 }, (_, n) => ({ key: 'busy', n })));
      quiet.feed(...Array.from({ length: 5 }, (_, n) => ({ key: 'quiet', n })));
      const connector = partitionedConnector({ partitions: [busy, quiet] });
      const first = fetchNow(connector, 4);
      expect(first.map((tx) => tx.payload.key).sort()).to.deep.equal([
        'busy',
        'busy',
        'quiet',
        'quiet',
      ]);
      const second = fetchNow(connector, 5);
      expect(second.filter((tx) => tx.payload.key === 'quiet')).to.have.length.within(2, 3);
      expect(second).to.have.length(5);
    });

    it('rotates the larger shares: over N fetches each of N partitions is asked for the same', () => {
      const partitions = memoryPartitions(4);
      for (const [index, partition] of partitions.entries()) {
        partition.feed(...Array.from({ length: 100 }, (_, n) => ({ key: `p${index}`, n })));
      }
      const connector = partitionedConnector({ partitions });
      const served = new Map<string, number>();
      for (let round = 0; round < 4; round++) {
        const fetched = fetchNow(connector, 3);
        expect(fetched).to.have.length(3);
        expect(
          new Set(fetched.map((tx) => tx.payload.key)).size,
          'three partitions per fetch',
        ).to.equal(3);
        for (const tx of fetched)
          served.set(tx.payload.key ?? '', (served.get(tx.payload.key ?? '') ?? 0) + 1);
      }
      expect([...served.values()]).to.deep.equal([3, 3, 3, 3]);
    });

    it('never returns more than size, and ends an idle partition’s wait once another delivered', async () => {
      let idleUnsubscribed = false;
      const idle: Connector<Payload> = {
        fetch: () =>
          new Observable<Transaction<Payload>>(() => () => {
            idleUnsubscribed = true;
          }),
      };
      const busy = new MemoryConnector<Payload>();
      busy.feed(...Array.from({ length: 50 }, (_, n) => ({ key: 'busy', n })));
      const connector = partitionedConnector({ partitions: [idle, busy] });
      const fetched = await lastValueFrom(connector.fetch({ size: 10, extra: {} }).pipe(toArray()));
      expect(fetched).to.have.length(5);
      expect(idleUnsubscribed).to.equal(true);
    });

    it('with size below the number of partitions, one transaction each from successive partitions', () => {
      const partitions = memoryPartitions(4);
      for (const [index, partition] of partitions.entries()) {
        partition.feed(...Array.from({ length: 10 }, (_, n) => ({ key: `p${index}`, n })));
      }
      const connector = partitionedConnector({ partitions });
      const order = Array.from({ length: 8 }, () => fetchNow(connector, 1)[0]?.payload.key);
      expect(order).to.deep.equal(['p0', 'p1', 'p2', 'p3', 'p0', 'p1', 'p2', 'p3']);
    });

    it('a consume loop with a task key processes every transaction once, in dispatch order per key', async () => {
      const partitions = memoryPartitions(3);
      const connector = partitionedConnector({ partitions });
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const batch = Array.from({ length: 100 }, (_, n) => keyed(keys[n % keys.length], n));
      await connector.dispatch(batch);
      const seen = new Map<string, number[]>();
      const task = consumerTask({
        key: (tx: Transaction<Payload>) => transactionKey(tx),
        process: async (tx: Transaction<Payload>) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
          const list = seen.get(tx.payload.key ?? '') ?? [];
          list.push(tx.payload.n);
          seen.set(tx.payload.key ?? '', list);
        },
      });
      const outcomes = await lastValueFrom(
        consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: 8 } } }).pipe(
          toArray(),
        ),
      );
      expect(outcomes.every((outcome) => outcome.status === 'success')).to.equal(true);
      expect(outcomes).to.have.length(100);
      for (const key of keys) {
        const expected = batch.filter((tx) => tx.payload.key === key).map((tx) => tx.payload.n);
        expect(seen.get(key)).to.deep.equal(expected);
      }
    });
  });

  describe('fan-out', () => {
    it('health is healthy when every partition is, and names each partition', async () => {
      const partitions = memoryPartitions(2);
      const connector = partitionedConnector({ partitions });
      expect(await lastValueFrom(connector.health())).to.deep.equal({
        healthy: true,
        state: 'open',
        detail: 'partition 0: open; partition 1: open',
      });
      partitions[1]?.close();
      const health = await lastValueFrom(connector.health());
      expect(health.healthy).to.equal(false);
      expect(health.state).to.equal('mixed');
    });

    it('count sums the consumed partitions; close closes every partition, once', async () => {
      const partitions = memoryPartitions(3);
      const connector = partitionedConnector({ partitions, consume: [0, 2] });
      const batch = Array.from({ length: 30 }, (_, n) => keyed(`k${n}`, n));
      await connector.dispatch(batch);
      const expected = batch.filter((tx) => connector.partitionFor(tx) !== 1).length;
      expect(await lastValueFrom(connector.count())).to.equal(expected);
      await connector.close();
      await connector.close();
      for (const partition of partitions) {
        expect((await lastValueFrom(partition.health())).state).to.equal('closed');
      }
    });
  });

  describe('property', () => {
    it('every transaction dispatched through it is fetched once, from exactly the partition its key hashes to', () => {
      const scenario = fc.record({
        partitions: fc.integer({ min: 1, max: 8 }),
        items: fc.array(
          fc.option(fc.string({ maxLength: 6, unit: 'grapheme' }), { nil: undefined }),
          {
            maxLength: 120,
          },
        ),
        sizes: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 }),
      });
      fc.assert(
        fc.property(scenario, ({ partitions: count, items, sizes }) => {
          const partitions = memoryPartitions(count);
          const connector = partitionedConnector({ partitions });
          const batch = items.map((key, n) => keyed(key, n));
          void connector.dispatch(batch);
          const fetched: Transaction<Payload>[] = [];
          for (let round = 0; fetched.length < batch.length; round++) {
            const size = sizes[round % sizes.length] ?? 1;
            const got = fetchNow(connector, size);
            expect(got.length).to.be.at.most(size);
            // Every partition is asked for at least one transaction in every `count` rounds.
            if (round > (batch.length + 1) * count) throw new Error('fetching stalled');
            fetched.push(...got);
          }
          for (const tx of fetched) connector.settle(tx, { type: 'ack' });
          expect(fetched.map((tx) => tx.id).sort()).to.deep.equal(batch.map((tx) => tx.id).sort());
          partitions.forEach((partition, index) => {
            for (const { transaction } of partition.settlements) {
              const key = transaction.payload.key;
              const expected =
                fnv1a32(key === undefined || key === '' ? transaction.id : key) % count;
              expect(expected).to.equal(index);
            }
          });
          // Per key, fetched in dispatch order.
          const byKey = new Map<string, number[]>();
          for (const tx of fetched) {
            const key = tx.payload.key;
            if (key === undefined || key === '') continue;
            byKey.set(key, [...(byKey.get(key) ?? []), tx.payload.n]);
          }
          for (const order of byKey.values()) {
            expect(order).to.deep.equal([...order].sort((a, b) => a - b));
          }
        }),
        { numRuns: 200 },
      );
    });
  });
});
