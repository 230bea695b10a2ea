import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  ConnectorClosedError,
  consume,
  consumerTask,
  createTransaction,
  decodeFailureOf,
  markUndecodable,
  MemoryConnector,
  produce,
  producerTask,
  type DispatchReport,
  type Transaction,
} from '../../../lib/index.js';

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

const tx = (id: string, metadata: Record<string, unknown> = {}): Transaction<string> =>
  createTransaction(id, { id, metadata });

const boom = new Error('boom');

describe('MemoryConnector — dispatch', () => {
  it('keeps metadata as given: metadata.key (and any other entry) comes back from fetch unchanged', () => {
    const connector = new MemoryConnector<string>();
    connector.dispatch([tx('a', { key: 'customer-7', headers: { key: 'mine' } }), tx('b')]);
    const [a, b] = fetchNow(connector, 2);
    expect(a?.metadata).to.deep.equal({ key: 'customer-7', headers: { key: 'mine' } });
    expect(b?.metadata).to.deep.equal({});
  });

  describe('recording', () => {
    it('record: true records dispatched transactions in order and counts the calls', () => {
      const connector = new MemoryConnector<string>({ record: true });
      const a = tx('a');
      const b = tx('b');
      const c = tx('c');
      const report = connector.dispatch([a, b]);
      connector.dispatch([c]);
      expect(report).to.deep.equal({ failed: [] });
      expect(connector.dispatched).to.deep.equal([a, b, c]);
      expect(connector.dispatched[0]).to.equal(a);
      expect(connector.dispatchCount).to.equal(2);
    });

    it('an empty batch counts as a call and records nothing', () => {
      const connector = new MemoryConnector<string>();
      expect(connector.dispatch([])).to.deep.equal({ failed: [] });
      expect(connector.dispatchCount).to.equal(1);
      expect(connector.dispatched).to.deep.equal([]);
    });

    it('by default (record: false) keeps no list but still counts and queues', () => {
      const connector = new MemoryConnector<string>();
      connector.dispatch([tx('a'), tx('b')]);
      expect(connector.dispatched).to.deep.equal([]);
      expect(connector.dispatchCount).to.equal(1);
      expect(fetchNow(connector, 5).map((t) => t.id)).to.deep.equal(['a', 'b']);
    });
  });

  describe('failure injection (onDispatch)', () => {
    it('onDispatch sees each batch with a 1-based call number', () => {
      const seen: string[] = [];
      const connector = new MemoryConnector<string>({
        onDispatch: (batch, call) => {
          seen.push(`${call}:${batch.map((t) => t.id).join('')}`);
          return undefined;
        },
      });
      connector.dispatch([tx('a'), tx('b')]);
      connector.dispatch([tx('c')]);
      expect(seen).to.deep.equal(['1:ab', '2:c']);
    });

    it('onDispatch throwing fails the whole batch: dispatch throws, nothing recorded or queued', () => {
      const connector = new MemoryConnector<string>({
        record: true,
        onDispatch: (_batch, call) => {
          if (call === 1) throw boom;
          return undefined;
        },
      });
      expect(() => connector.dispatch([tx('a'), tx('b')])).to.throw(boom);
      expect(connector.dispatched).to.deep.equal([]);
      expect(connector.dispatchCount).to.equal(1);
      expect(fetchNow(connector, 5)).to.deep.equal([]);
      connector.dispatch([tx('a'), tx('b')]);
      expect(connector.dispatchCount).to.equal(2);
      expect(fetchNow(connector, 5).map((t) => t.id)).to.deep.equal(['a', 'b']);
    });

    it('onDispatch returning a report fails those transactions only; the report is returned', () => {
      const rejected = new Error('b rejected');
      const connector = new MemoryConnector<string>({
        record: true,
        onDispatch: (batch): DispatchReport<string> => ({
          failed: batch
            .filter((t) => t.id === 'b')
            .map((transaction) => ({ transaction, error: rejected })),
        }),
      });
      const b = tx('b');
      const report = connector.dispatch([tx('a'), b, tx('c')]);
      expect(report.failed).to.have.length(1);
      expect(report.failed[0]?.transaction).to.equal(b);
      expect(report.failed[0]?.error).to.equal(rejected);
      expect(connector.dispatched.map((t) => t.id)).to.deep.equal(['a', 'c']);
      expect(fetchNow(connector, 5).map((t) => t.id)).to.deep.equal(['a', 'c']);
    });

    it('a batch whose signal already aborted is not taken: dispatch throws the reason', () => {
      const connector = new MemoryConnector<string>();
      const controller = new AbortController();
      controller.abort(boom);
      expect(() => connector.dispatch([tx('a')], { signal: controller.signal })).to.throw(boom);
      expect(connector.dispatched).to.deep.equal([]);
      expect(fetchNow(connector, 5)).to.deep.equal([]);
    });

    it('a closed connector refuses to dispatch with ConnectorClosedError', () => {
      const connector = new MemoryConnector<string>({ record: true });
      connector.close();
      expect(() => connector.dispatch([tx('a')])).to.throw(ConnectorClosedError);
      expect(connector.dispatched).to.deep.equal([]);
    });
  });

  describe('dispatched transactions are queued for fetch', () => {
    it('fetch hands them out in dispatch order with their id, payload and metadata', () => {
      const connector = new MemoryConnector<string>();
      connector.dispatch([tx('a', { origin: 'x' }), tx('b')]);
      connector.dispatch([tx('c')]);
      const fetched = fetchNow(connector, 10);
      expect(fetched.map((t) => [t.id, t.payload, t.metadata])).to.deep.equal([
        ['a', 'a', { origin: 'x' }],
        ['b', 'b', {}],
        ['c', 'c', {}],
      ]);
      expect(fetched.every((t) => Object.isFrozen(t) && Object.isFrozen(t.metadata))).to.equal(
        true,
      );
    });

    it('a fetched dispatched transaction can be settled once (a lease of its own)', () => {
      const connector = new MemoryConnector<string>();
      const a = tx('a');
      connector.dispatch([a]);
      const [fetched] = fetchNow(connector, 1);
      if (fetched === undefined) return expect.fail('nothing fetched');
      connector.settle(fetched, { type: 'ack' });
      expect(connector.counts.ack).to.equal(1);
      expect(() => connector.settle(fetched, { type: 'ack' })).to.throw(/settled twice/);
    });

    it('keeps the trace context a transaction carries in its metadata', () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const connector = new MemoryConnector<string>();
      connector.dispatch([tx('a', { traceparent, tracestate: 'vendor=1', other: 2 })]);
      const [fetched] = fetchNow(connector, 1);
      expect(fetched?.metadata).to.deep.equal({ traceparent, tracestate: 'vendor=1', other: 2 });
    });

    it('dispatched transactions come after what was fed before them', () => {
      const connector = new MemoryConnector<string>({ source: ['s1'] });
      connector.feed('f1');
      connector.dispatch([tx('d1')]);
      connector.feed('f2');
      expect(fetchNow(connector, 10).map((t) => t.payload)).to.deep.equal(['s1', 'f1', 'd1', 'f2']);
    });

    it('fetchById finds a dispatched transaction', async () => {
      const connector = new MemoryConnector<string>();
      connector.dispatch([tx('a'), tx('b')]);
      const found = await lastValueFrom(connector.fetchById('b'));
      expect(found?.payload).to.equal('b');
      expect(await lastValueFrom(connector.count())).to.equal(2);
    });

    it('keeps the decode failure mark of an undecodable transaction', () => {
      const connector = new MemoryConnector<string>();
      const failure = new SyntaxError('bad json');
      connector.dispatch([markUndecodable(tx('bad'), failure)]);
      const [fetched] = fetchNow(connector, 1);
      if (fetched === undefined) return expect.fail('nothing fetched');
      expect(decodeFailureOf(fetched)).to.equal(failure);
    });

    it('round trip: produce into a memory connector, then consume everything from it', async () => {
      const connector = new MemoryConnector<{ n: number }>();
      const produced = await lastValueFrom(
        from([1, 2, 3, 4, 5].map((n) => createTransaction({ n }, { id: `n${n}` }))).pipe(
          produce(
            connector,
            producerTask({
              prepare: (t: Transaction<{ n: number }>) => ({ n: t.payload.n * 10 }),
            }),
            { loop: { batch: { size: 2, maxWait: 1 } } },
          ),
          toArray(),
        ),
      );
      expect(produced.map((o) => o.status)).to.deep.equal(Array(5).fill('success'));
      expect(connector.dispatchCount).to.equal(3);
      const consumed: string[] = [];
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (t: Transaction<{ n: number }>) =>
              void consumed.push(`${t.id}=${t.payload.n}`),
          }),
          { loop: { concurrency: { value: 2 } } },
        ).pipe(toArray()),
      );
      expect(outcomes).to.have.length(5);
      expect(consumed).to.deep.equal(['n1=10', 'n2=20', 'n3=30', 'n4=40', 'n5=50']);
      expect(connector.counts).to.deep.equal({ ack: 5, deadLetter: 0, release: 0 });
      expect(connector.unsettled).to.equal(0);
    });
  });
});
