import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, take, timer, toArray, type Observable } from 'rxjs';
import {
  ConnectorClosedError,
  consume,
  consumerTask,
  createTransaction,
  decodeFailureOf,
  markUndecodable,
  MemoryConnector,
  SettlementError,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';
import { inVirtualTime, record } from '../../engine/support/virtual-time.js';

const ack: SettleDecision = { type: 'ack' };
const release: SettleDecision = { type: 'release', reason: 'shutdown' };

/** Synchronously runs one fetch of `size` (the memory connector fetches synchronously). */
function fetchNow<P>(connector: MemoryConnector<P>, size: number): Transaction<P>[] {
  let result: Transaction<P>[] | undefined;
  connector
    .fetch({ size, extra: {} })
    .pipe(toArray())
    .subscribe((all) => (result = all));
  if (result === undefined) throw new Error('the memory connector did not fetch synchronously');
  return result;
}

function valueNow<T>(source: Observable<T>): T {
  let value: T | undefined;
  let seen = false;
  source.subscribe((v) => {
    value = v;
    seen = true;
  });
  if (!seen) throw new Error('no synchronous value');
  return value as T;
}

/** A generator that remembers how far it was pulled. */
function counted(limit = Infinity) {
  const state = { pulled: 0 };
  function* generate(): Generator<number> {
    while (state.pulled < limit) yield state.pulled++;
  }
  return { state, source: { [Symbol.iterator]: generate } };
}

describe('MemoryConnector', () => {
  describe('source', () => {
    it('reads a lazy source only as far as fetches asked', () => {
      const { state, source } = counted();
      const connector = new MemoryConnector({ source });
      expect(state.pulled).to.equal(0);
      expect(fetchNow(connector, 3).map((t) => t.payload)).to.deep.equal([0, 1, 2]);
      expect(state.pulled).to.equal(3);
      fetchNow(connector, 2);
      expect(state.pulled).to.equal(5);
    });

    it('an infinite source is fine for consume with a limit', async () => {
      const { state, source } = counted();
      const connector = new MemoryConnector({ source });
      const outcomes = await lastValueFrom(
        consume(connector, consumerTask({ process: () => 1 }), {
          loop: { limit: 7, concurrency: { value: 3 } },
        }).pipe(toArray()),
      );
      expect(outcomes).to.have.length(7);
      expect(state.pulled).to.equal(7);
    });

    it('fetch returns at most request.size, and empty when nothing is left', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3] });
      expect(fetchNow(connector, 2)).to.have.length(2);
      expect(fetchNow(connector, 5)).to.have.length(1);
      expect(fetchNow(connector, 5)).to.have.length(0);
    });

    it('is cold: calling fetch takes nothing until subscribed; each subscription counts', () => {
      const { state, source } = counted();
      const connector = new MemoryConnector({ source });
      const fetch$ = connector.fetch({ size: 2, extra: {} });
      expect(state.pulled).to.equal(0);
      expect(connector.fetchCount).to.equal(0);
      fetch$.subscribe();
      fetch$.subscribe();
      expect(state.pulled).to.equal(4);
      expect(connector.fetchCount).to.equal(2);
    });

    it('stops taking when the subscriber unsubscribes in the middle of a fetch', () => {
      const { state, source } = counted();
      const connector = new MemoryConnector({ source });
      const taken = valueNow(connector.fetch({ size: 5, extra: {} }).pipe(take(2), toArray()));
      expect(taken).to.have.length(2);
      expect(state.pulled).to.equal(2);
      expect(connector.unsettled).to.equal(2);
    });

    it('makes frozen transactions with sequential ids and empty metadata', () => {
      const connector = new MemoryConnector({ source: ['a', 'b'], idPrefix: 'order-' });
      const [a, b] = fetchNow(connector, 2) as [Transaction<string>, Transaction<string>];
      expect([a.id, b.id]).to.deep.equal(['order-1', 'order-2']);
      expect(a.metadata).to.deep.equal({});
      expect(Object.isFrozen(a)).to.equal(true);
      expect(new MemoryConnector({ source: [1], idPrefix: 'tx-' }).feed(2)[0]?.id).to.equal('tx-1');
    });

    it('default ids never repeat across connectors (runs): tx-<16 random hex digits>-<n>', () => {
      const ids = Array.from({ length: 50 }, () => new MemoryConnector().feed(1, 2));
      for (const [first, second] of ids) {
        expect(first?.id).to.match(/^tx-[0-9a-f]{16}-1$/);
        expect(second?.id).to.equal(`${first?.id.slice(0, -1)}2`);
      }
      expect(new Set(ids.map(([first]) => first?.id)).size).to.equal(50);
    });
  });

  describe('feed and enqueue', () => {
    it('feed adds payloads and returns their transactions, served in order', () => {
      const connector = new MemoryConnector<string>();
      const fed = connector.feed('x', 'y');
      expect(fed.map((t) => t.payload)).to.deep.equal(['x', 'y']);
      expect(fetchNow(connector, 5)).to.deep.equal(fed);
    });

    it('fed payloads come after the payloads of the seed source (first in, first out)', () => {
      const connector = new MemoryConnector<number>({ source: [1, 2, 3] });
      expect(fetchNow(connector, 1).map((t) => t.payload)).to.deep.equal([1]);
      connector.feed(9);
      expect(fetchNow(connector, 5).map((t) => t.payload)).to.deep.equal([2, 3, 9]);
    });

    it('enqueue serves ready-made transactions with their id, payload and metadata', () => {
      const connector = new MemoryConnector<string>();
      const given = createTransaction('p', { id: 'given-1', metadata: { line: 4 } });
      connector.enqueue(given);
      const [served] = fetchNow(connector, 1);
      expect(served?.id).to.equal('given-1');
      expect(served?.payload).to.equal('p');
      expect(served?.metadata).to.deep.equal({ line: 4 });
    });

    it('enqueue keeps a decode failure mark (markUndecodable) on what it serves', () => {
      const connector = new MemoryConnector<string>();
      const decodeError = new SyntaxError('bad json');
      connector.enqueue(markUndecodable(createTransaction('{', { id: 'line-1' }), decodeError));
      const [served] = fetchNow(connector, 1) as [Transaction<string>];
      expect(decodeFailureOf(served)).to.equal(decodeError);
    });

    it('feed while a streaming loop runs: fed work is picked up at the next poll; stop$ ends it', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new MemoryConnector<string>();
        scheduler.schedule(() => connector.feed('a', 'b'), 50);
        scheduler.schedule(() => connector.feed('c'), 250);
        const run = record(
          consume(
            connector,
            consumerTask({ process: (tx: Transaction<string>) => tx.payload }),
            { loop: { streaming: true, concurrency: { value: 2 } } },
            { stop$: timer(450) },
          ),
        );
        scheduler.flush();
        // polls: 0 empty, 100 a+b, 100 empty, 200 empty, 400 c, 400 empty, stop at 450.
        expect(run.values.map((o) => `${o.transaction.payload}@`)).to.deep.equal([
          'a@',
          'b@',
          'c@',
        ]);
        expect(run.times).to.deep.equal([100, 100, 400]);
        expect(run.completedAt).to.equal(450);
        expect(connector.counts).to.deep.equal({ ack: 3, deadLetter: 0, release: 0 });
        expect(connector.unsettled).to.equal(0);
      });
    });
  });

  describe('settlement', () => {
    it('record: true records each settlement in order and counts it', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3], record: true });
      const [a, b, c] = fetchNow(connector, 3);
      const deadLetter: SettleDecision = {
        type: 'deadLetter',
        error: new (class extends Error {})('x') as never,
      };
      connector.settle(b as Transaction<number>, ack);
      connector.settle(a as Transaction<number>, deadLetter);
      connector.settle(c as Transaction<number>, release);
      expect(
        connector.settlements.map((s) => [s.transaction.payload, s.decision.type]),
      ).to.deep.equal([
        [2, 'ack'],
        [1, 'deadLetter'],
        [3, 'release'],
      ]);
      expect(connector.counts).to.deep.equal({ ack: 1, deadLetter: 1, release: 1 });
      expect(connector.unsettled).to.equal(0);
    });

    it('tracks fetched-but-unsettled transactions', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3] });
      const fetched = fetchNow(connector, 3);
      expect(connector.unsettled).to.equal(3);
      connector.settle(fetched[0] as Transaction<number>, ack);
      expect(connector.unsettled).to.equal(2);
    });

    it('settling twice throws SettlementError and counts nothing more', () => {
      const connector = new MemoryConnector({ source: [1], record: true });
      const [tx] = fetchNow(connector, 1) as [Transaction<number>];
      connector.settle(tx, ack);
      expect(() => connector.settle(tx, ack)).to.throw(SettlementError, /twice/);
      expect(() => connector.settle(tx, release)).to.throw(SettlementError);
      expect(connector.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 0 });
      expect(connector.settlements).to.have.length(1);
    });

    it('settling a transaction it never fetched throws SettlementError', () => {
      const connector = new MemoryConnector({ source: [1] });
      expect(() => connector.settle(createTransaction(1, { id: 'tx-1' }), ack)).to.throw(
        SettlementError,
      );
      const other = new MemoryConnector({ source: [1] });
      const [foreign] = fetchNow(other, 1) as [Transaction<number>];
      expect(() => connector.settle(foreign, ack)).to.throw(SettlementError);
      expect(other.unsettled).to.equal(1);
    });

    it('a queued (not fetched) transaction cannot be settled', () => {
      const connector = new MemoryConnector<string>();
      const [queued] = connector.feed('q') as [Transaction<string>];
      expect(() => connector.settle(queued, ack)).to.throw(SettlementError);
    });

    it('by default (record: false) keeps counts but no list, so memory stays flat', () => {
      for (const connector of [
        new MemoryConnector({ source: [1, 2] }),
        new MemoryConnector({ source: [1, 2], record: false }),
      ]) {
        for (const tx of fetchNow(connector, 2)) connector.settle(tx, ack);
        connector.dispatch([createTransaction(3)]);
        expect(connector.settlements).to.deep.equal([]);
        expect(connector.dispatched).to.deep.equal([]);
        expect(connector.counts.ack).to.equal(2);
        expect(connector.dispatchCount).to.equal(1);
      }
    });
  });

  describe('redelivery', () => {
    it('a released transaction is delivered again (same id and payload), before new ones', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3], idPrefix: 'tx-' });
      const [first] = fetchNow(connector, 1) as [Transaction<number>];
      connector.settle(first, release);
      const again = fetchNow(connector, 2);
      expect(again.map((t) => t.id)).to.deep.equal([first.id, 'tx-2']);
      expect(again[0]?.payload).to.equal(1);
    });

    it('released transactions come back in their original order', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3, 4, 5, 6] });
      const fetched = fetchNow(connector, 4);
      for (const tx of fetched) connector.settle(tx, release);
      expect(fetchNow(connector, 6).map((t) => t.payload)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it('a redelivered transaction can be settled again (one settlement per delivery)', () => {
      const connector = new MemoryConnector({ source: [1] });
      const [tx] = fetchNow(connector, 1) as [Transaction<number>];
      connector.settle(tx, release);
      const [again] = fetchNow(connector, 1) as [Transaction<number>];
      expect(() => connector.settle(again, ack)).to.not.throw();
      expect(connector.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 1 });
    });

    it('ack and deadLetter are final: not delivered again', () => {
      const connector = new MemoryConnector({ source: [1, 2] });
      const [a, b] = fetchNow(connector, 2) as [Transaction<number>, Transaction<number>];
      connector.settle(a, ack);
      connector.settle(b, { type: 'deadLetter', error: undefined as never });
      expect(fetchNow(connector, 5)).to.deep.equal([]);
    });

    it('redeliverReleased: false drops released transactions from the queue', () => {
      const connector = new MemoryConnector({ source: [1, 2], redeliverReleased: false });
      const [a] = fetchNow(connector, 1) as [Transaction<number>];
      connector.settle(a, release);
      expect(fetchNow(connector, 5).map((t) => t.payload)).to.deep.equal([2]);
    });

    it('work released by a stopped loop is picked up by the next loop', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new MemoryConnector({ source: [1, 2, 3, 4], idPrefix: 'tx-' });
        const slow = consumerTask({ process: () => timer(10) });
        const first = record(
          consume(connector, slow, {
            loop: { concurrency: { value: 2 } },
            fetch: { batch: { size: 4 } },
          }),
        );
        scheduler.schedule(() => first.subscription.unsubscribe(), 5);
        scheduler.flush();
        expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: 0, release: 4 });
        const second = record(consume(connector, slow, { loop: { concurrency: { value: 4 } } }));
        scheduler.flush();
        expect(second.values.map((o) => o.transaction.payload).sort()).to.deep.equal([1, 2, 3, 4]);
        expect(second.values.map((o) => o.transaction.id).sort()).to.deep.equal([
          'tx-1',
          'tx-2',
          'tx-3',
          'tx-4',
        ]);
        expect(connector.counts).to.deep.equal({ ack: 4, deadLetter: 0, release: 4 });
        expect(connector.unsettled).to.equal(0);
      });
    });
  });

  describe('count, fetchById, health, close', () => {
    it('count() says how many wait, reading a lazy source to its end', () => {
      const { state, source } = counted(10);
      const connector = new MemoryConnector({ source });
      fetchNow(connector, 3);
      expect(valueNow(connector.count())).to.equal(7);
      expect(state.pulled).to.equal(10);
      connector.feed(99);
      expect(valueNow(connector.count())).to.equal(8);
      expect(fetchNow(connector, 20).map((t) => t.payload)).to.deep.equal([
        3, 4, 5, 6, 7, 8, 9, 99,
      ]);
    });

    it('fetchById finds queued and fetched-unsettled transactions, undefined otherwise', async () => {
      const connector = new MemoryConnector({ source: [1, 2, 3], idPrefix: 'tx-' });
      const [first] = fetchNow(connector, 1) as [Transaction<number>];
      expect(await firstValueFrom(connector.fetchById(first.id))).to.equal(first);
      expect((await firstValueFrom(connector.fetchById('tx-3')))?.payload).to.equal(3);
      expect(await firstValueFrom(connector.fetchById('nope'))).to.equal(undefined);
      connector.settle(first, ack);
      expect(await firstValueFrom(connector.fetchById(first.id))).to.equal(undefined);
    });

    it('health() is open, then closed after close()', () => {
      const connector = new MemoryConnector();
      expect(valueNow(connector.health())).to.deep.include({ healthy: true });
      connector.close();
      expect(valueNow(connector.health())).to.deep.include({ healthy: false, state: 'closed' });
    });

    it('after close(), fetch errors with ConnectorClosedError', () => {
      const connector = new MemoryConnector({ source: [1] });
      connector.close();
      let error: unknown;
      connector.fetch({ size: 1, extra: {} }).subscribe({ error: (e: unknown) => (error = e) });
      expect(error).to.be.instanceOf(ConnectorClosedError);
    });

    it('close() puts unsettled transactions back in the queue, in order, and is idempotent', () => {
      const connector = new MemoryConnector({ source: [1, 2, 3, 4] });
      fetchNow(connector, 3);
      connector.close();
      connector.close();
      expect(connector.unsettled).to.equal(0);
      expect(valueNow(connector.count())).to.equal(4);
    });

    it('a consume loop on a closed connector fails with the connector error as cause', async () => {
      const connector = new MemoryConnector({ source: [1] });
      connector.close();
      let caught: unknown;
      try {
        await lastValueFrom(consume(connector, consumerTask({ process: () => 1 })));
      } catch (error) {
        caught = error;
      }
      expect((caught as Error | undefined)?.cause).to.be.instanceOf(ConnectorClosedError);
    });
  });
});
