import { expect } from 'chai';
import { EMPTY, map, type Observable, switchMap, timer, toArray, lastValueFrom } from 'rxjs';
import {
  ConnectorContractError,
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  DispatchError,
  MemoryConnector,
  type TransactionError,
  type Connector,
  type Transaction,
} from '../../lib/index.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { loggingConnector, SlowConnector } from './support/dispatch-connectors.js';
import { inVirtualTime, record } from './support/virtual-time.js';
import { fakeTimersEachSpec } from './support/fake-timers.js';

const tx = (id: string): Transaction<string> => createTransaction(id, { id });

/** `send` subscribed at `at` (virtual ms). */
function sendAt<T>(at: number, send: () => Observable<T>): Observable<T> {
  return timer(at).pipe(switchMap(send));
}

const ids = map((list: readonly Transaction<string>[]) => list.map((t) => t.id).join(''));

const boom = new Error('boom');

describe('createDispatcher', () => {
  describe('send', () => {
    it('needs a connector with dispatch', () => {
      const fetchOnly = { fetch: () => EMPTY } as unknown as Connector<string>;
      expect(() => createDispatcher(fetchOnly)).to.throw(ConnectorContractError);
    });

    it('is cold: nothing is queued until the send is subscribed', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const dispatcher = createDispatcher(memory, { maxWait: 0 });
        const send = dispatcher.send(tx('a'));
        scheduler.flush();
        expect(memory.dispatchCount).to.equal(0);
        send.subscribe();
        scheduler.flush();
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
      });
    });

    it('emits the list once every transaction was dispatched, then completes', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const dispatcher = createDispatcher(memory, { batch: 10, maxWait: 5 });
        const a = tx('a');
        expectObservable(dispatcher.send(a)).toBe('5ms (x|)', { x: [a] });
        scheduler.flush();
        expect(calls).to.deep.equal([{ at: 5, ids: 'a' }]);
      });
    });

    it('send([]) emits [] and completes at once, dispatching nothing', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const { memory } = loggingConnector();
        const dispatcher = createDispatcher(memory, { maxWait: 5 });
        expectObservable(dispatcher.send([])).toBe('(x|)', { x: [] });
        scheduler.flush();
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('with maxWait 0 the transactions of one send still go out together', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector();
        const dispatcher = createDispatcher(memory, { batch: 10, maxWait: 0 });
        const sent = record(dispatcher.send([tx('a'), tx('b'), tx('c')]));
        scheduler.flush();
        expect(calls).to.deep.equal([{ at: 0, ids: 'abc' }]);
        expect(sent.completedAt).to.equal(0);
      });
    });

    it('concurrent senders share batches', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const dispatcher = createDispatcher(memory, { batch: 10, maxWait: 5 });
        expectObservable(dispatcher.send(tx('a')).pipe(ids)).toBe('5ms (x|)', { x: 'a' });
        expectObservable(sendAt(2, () => dispatcher.send([tx('b'), tx('c')])).pipe(ids)).toBe(
          '5ms (x|)',
          { x: 'bc' },
        );
        scheduler.flush();
        expect(calls).to.deep.equal([{ at: 5, ids: 'abc' }]);
      });
    });

    it('batches never exceed `batch`; a sender waits for all of its transactions', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const dispatcher = createDispatcher(memory, { batch: 2, maxWait: 100 });
        expectObservable(dispatcher.send([tx('a'), tx('b'), tx('c')]).pipe(ids)).toBe('---(x|)', {
          x: 'abc',
        });
        expectObservable(sendAt(3, () => dispatcher.send(tx('d'))).pipe(ids)).toBe('---(x|)', {
          x: 'd',
        });
        scheduler.flush();
        expect(calls).to.deep.equal([
          { at: 0, ids: 'ab' },
          { at: 3, ids: 'cd' },
        ]);
      });
    });

    it('a partial failure errors the sender it belongs to with a DispatchError naming it', () => {
      inVirtualTime((_h, scheduler) => {
        const rejected = new Error('b rejected');
        const { memory, calls } = loggingConnector((batch) => ({
          failed: batch
            .filter((t) => t.id === 'b')
            .map((transaction) => ({ transaction, error: rejected })),
        }));
        const dispatcher = createDispatcher(memory, { batch: 10, maxWait: 5 });
        const first = record(dispatcher.send([tx('a'), tx('b')]));
        const second = record(dispatcher.send(tx('c')));
        scheduler.flush();
        expect(calls).to.have.length(1);
        expect(first.error).to.be.instanceOf(DispatchError);
        const error = first.error as DispatchError<string>;
        expect(error.failures.map((f) => [f.transaction.id, f.error])).to.deep.equal([
          ['b', rejected],
        ]);
        expect(error.message).to.contain('1 of 2').and.contain('b');
        expect(error.cause).to.equal(rejected);
        expect(first.values).to.deep.equal([]);
        expect(second.error).to.equal(undefined);
        expect(second.values.map((list) => list.map((t) => t.id))).to.deep.equal([['c']]);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'c']);
      });
    });

    it('a batch failing after its retries errors every sender in it', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector(() => {
          throw boom;
        });
        const dispatcher = createDispatcher(memory, {
          batch: 10,
          maxWait: 0,
          retry: { maxAttempts: 3, backoff: 10 },
        });
        const first = record(dispatcher.send(tx('a')));
        const second = record(dispatcher.send([tx('b'), tx('c')]));
        scheduler.flush();
        // a: 0, 10, 30 (backoff 10 then 20); then [b c]: 30, 40, 60.
        expect(calls.map((c) => `${c.ids}@${c.at}`)).to.deep.equal([
          'a@0',
          'a@10',
          'a@30',
          'bc@30',
          'bc@40',
          'bc@60',
        ]);
        expect((first.error as DispatchError).failures.map((f) => f.transaction.id)).to.deep.equal([
          'a',
        ]);
        expect((second.error as DispatchError).failures.map((f) => f.transaction.id)).to.deep.equal(
          ['b', 'c'],
        );
        expect((second.error as DispatchError).cause).to.equal(boom);
        expect(first.erroredAt).to.equal(30);
        expect(second.erroredAt).to.equal(60);
      });
    });

    it('unsubscribing withdraws transactions still forming; other senders are not affected', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const dispatcher = createDispatcher(memory, { batch: 10, maxWait: 5 });
        const withdrawn = record(dispatcher.send([tx('a'), tx('b')]));
        const kept = record(sendAt(1, () => dispatcher.send(tx('c'))));
        scheduler.schedule(() => withdrawn.subscription.unsubscribe(), 2);
        scheduler.flush();
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['c']);
        expect(kept.completedAt).to.be.a('number');
        expect(withdrawn.values).to.deep.equal([]);
      });
    });

    it('a withdrawn overdue batch does not make the next one leave before its maxWait', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(50);
        const dispatcher = createDispatcher(connector, { batch: 10, maxWait: 5 });
        record(dispatcher.send(tx('x')));
        const withdrawn = record(sendAt(10, () => dispatcher.send(tx('y'))));
        scheduler.schedule(() => withdrawn.subscription.unsubscribe(), 20);
        record(sendAt(60, () => dispatcher.send(tx('z'))));
        scheduler.flush();
        // x leaves at 5 (busy until 55); y is overdue at 15 but withdrawn at 20.
        expect(connector.calls).to.deep.equal([
          { at: 5, ids: 'x' },
          { at: 65, ids: 'z' },
        ]);
      });
    });

    it('sends at most `concurrency` batches at once', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(20);
        const dispatcher = createDispatcher(connector, { batch: 1, maxWait: 0, concurrency: 2 });
        const sends = ['a', 'b', 'c', 'd', 'e'].map((id) => record(dispatcher.send(tx(id))));
        scheduler.flush();
        expect(connector.sending.peak).to.equal(2);
        expect(connector.calls.map((c) => `${c.ids}@${c.at}`)).to.deep.equal([
          'a@0',
          'b@0',
          'c@20',
          'd@20',
          'e@40',
        ]);
        expect(sends.map((s) => s.completedAt)).to.deep.equal([20, 20, 40, 40, 60]);
      });
    });

    it('many senders behind a retried batch are served without exhausting the stack', () => {
      inVirtualTime((_h, scheduler) => {
        const memory = new MemoryConnector<number>({
          record: false,
          onDispatch: (_batch, call) => {
            if (call === 1) throw boom;
            return undefined;
          },
        });
        const dispatcher = createDispatcher(memory, {
          batch: 10,
          maxWait: 5,
          retry: { maxAttempts: 2, backoff: 5 },
        });
        let done = 0;
        const errors: unknown[] = [];
        for (let i = 0; i < 100_000; i++) {
          dispatcher.send(createTransaction(i)).subscribe({
            complete: () => done++,
            error: (error: unknown) => errors.push(error),
          });
        }
        scheduler.flush();
        expect(errors).to.deep.equal([]);
        expect(done).to.equal(100_000);
      });
    });
  });

  describe('hybrid task: consume → process sends outbound → settle after dispatch', () => {
    interface Order {
      readonly order: string;
      readonly lines: number;
    }

    /** The outbound transactions of an order: one per line, ids `<order>:<n>`. */
    const linesOf = (order: Order): Transaction<string>[] =>
      Array.from({ length: order.lines }, (_, n) =>
        createTransaction(`${order.order} line ${n + 1}`, { id: `${order.order}:${n + 1}` }),
      );

    it('0, 1 or many outbound: each inbound is acked only after all of its outbound were dispatched', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({
          source: [
            { order: 'o1', lines: 0 },
            { order: 'o2', lines: 1 },
            { order: 'o3', lines: 3 },
          ],
        });
        const { memory: outbound, calls } = loggingConnector();
        const outbox = createDispatcher(outbound, { batch: 10, maxWait: 5 });
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
        });
        const run = record(
          consume(inbox, task, { loop: { mode: 'batch', concurrency: { value: 3 } } }),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['success', 'success', 'success']);
        expect(calls).to.deep.equal([{ at: 5, ids: 'o2:1o3:1o3:2o3:3' }]);
        const ackAt = new Map(inbox.settles.map((s) => [s.transaction.payload.order, s.at]));
        expect(ackAt.get('o1')).to.equal(0);
        expect(ackAt.get('o2')).to.equal(5);
        expect(ackAt.get('o3')).to.equal(5);
        expect(inbox.settles.every((s) => s.decision.type === 'ack')).to.equal(true);
        expect(settledExactlyOnce(inbox)).to.equal(null);
        const result = run.values[2];
        expect(result?.status === 'success' && result.result.map((t) => t.id)).to.deep.equal([
          'o3:1',
          'o3:2',
          'o3:3',
        ]);
      });
    });

    it('the inbound is not settled while its outbound dispatch is still running', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({ source: [{ order: 'o1', lines: 2 }] });
        const outboundConnector = new SlowConnector(40);
        const outbox = createDispatcher(outboundConnector, { batch: 10, maxWait: 5 });
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
        });
        record(consume(inbox, task));
        let settledBy44 = -1;
        scheduler.schedule(() => (settledBy44 = inbox.settles.length), 44);
        scheduler.flush();
        expect(outboundConnector.calls).to.deep.equal([{ at: 5, ids: 'o1:1o1:2' }]);
        expect(settledBy44).to.equal(0);
        expect(inbox.settles.map((s) => [s.at, s.decision.type])).to.deep.equal([[45, 'ack']]);
      });
    });

    it('outbound traffic of concurrent lifecycles is batched together', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({
          source: ['o1', 'o2', 'o3', 'o4'].map((order) => ({ order, lines: 2 })),
        });
        const { memory: outbound, calls } = loggingConnector();
        const outbox = createDispatcher(outbound, { batch: 5, maxWait: 5 });
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
        });
        const run = record(
          consume(inbox, task, { loop: { mode: 'continuous', concurrency: { value: 4 } } }),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(Array(4).fill('success'));
        expect(calls.map((c) => c.ids.split(/(?=o\d:)/).length)).to.deep.equal([5, 3]);
        expect(outbound.dispatched).to.have.length(8);
      });
    });

    it('a failed outbound dispatch routes the inbound to onException (acked as handled)', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({ source: [{ order: 'o1', lines: 2 }] });
        const { memory: outbound } = loggingConnector(() => {
          throw boom;
        });
        const outbox = createDispatcher(outbound, { maxWait: 0 });
        const errors: TransactionError[] = [];
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
          onException: (_t, error) => void errors.push(error),
        });
        const run = record(consume(inbox, task));
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['exception']);
        expect(errors).to.have.length(1);
        expect(errors[0]?.stage).to.equal('process');
        expect(errors[0]?.cause).to.be.instanceOf(DispatchError);
        expect(inbox.settles.map((s) => s.decision.type)).to.deep.equal(['ack']);
      });
    });

    it('a failed outbound dispatch without onException dead-letters the inbound (never acked)', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({
          source: [
            { order: 'o1', lines: 1 },
            { order: 'o2', lines: 2 },
          ],
        });
        const rejected = new Error('rejected');
        const { memory: outbound } = loggingConnector((batch) => ({
          failed: batch
            .filter((t) => t.id === 'o2:2')
            .map((transaction) => ({ transaction, error: rejected })),
        }));
        const outbox = createDispatcher(outbound, { batch: 10, maxWait: 5 });
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
        });
        const run = record(consume(inbox, task, { loop: { concurrency: { value: 2 } } }));
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.payload.order}:${o.status}`)).to.deep.equal([
          'o1:success',
          'o2:failed',
        ]);
        const decisions = new Map(
          inbox.settles.map((s) => [s.transaction.payload.order, s.decision.type]),
        );
        expect(decisions.get('o1')).to.equal('ack');
        expect(decisions.get('o2')).to.equal('deadLetter');
        expect(settledExactlyOnce(inbox)).to.equal(null);
      });
    });

    it('a hard stop before the outbound left releases the inbound and withdraws its outbound', () => {
      inVirtualTime((_h, scheduler) => {
        const inbox = new TestConnector<Order>({ source: [{ order: 'o1', lines: 2 }] });
        const { memory: outbound } = loggingConnector();
        const outbox = createDispatcher(outbound, { batch: 10, maxWait: 5 });
        const task = consumerTask({
          process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
        });
        const run = record(consume(inbox, task));
        scheduler.schedule(() => run.subscription.unsubscribe(), 2);
        scheduler.flush();
        expect(inbox.settles.map((s) => s.decision.type)).to.deep.equal(['release']);
        expect(outbound.dispatchCount).to.equal(0);
      });
    });

    it('round trip: what the hybrid task dispatched is consumed from the other connector', async () => {
      const inbox = new MemoryConnector<Order>({
        record: true,
        idPrefix: 'tx-',
        source: [
          { order: 'o1', lines: 2 },
          { order: 'o2', lines: 1 },
        ],
      });
      const outbound = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
      const outbox = createDispatcher(outbound, { batch: 10, maxWait: 1 });
      const hybrid = consumerTask({
        process: (t: Transaction<Order>) => outbox.send(linesOf(t.payload)),
      });
      await lastValueFrom(
        consume(inbox, hybrid, { loop: { concurrency: { value: 2 } } }).pipe(toArray()),
      );
      expect(inbox.counts).to.deep.equal({ ack: 2, deadLetter: 0, release: 0 });
      const seen: string[] = [];
      const sink = consumerTask({
        process: (t: Transaction<string>) => void seen.push(`${t.id}=${t.payload}`),
      });
      await lastValueFrom(consume(outbound, sink).pipe(toArray()));
      expect(seen).to.have.members(['o1:1=o1 line 1', 'o1:2=o1 line 2', 'o2:1=o2 line 1']);
      expect(outbound.counts.ack).to.equal(3);
    });
  });

  describe('no timers left behind (fake timers)', () => {
    const timers = fakeTimersEachSpec();

    it('once every send finished', async () => {
      const dispatcher = createDispatcher(
        new MemoryConnector<string>({ record: true, idPrefix: 'tx-' }),
        {
          batch: 2,
          maxWait: 1_000,
        },
      );
      let done = 0;
      for (const id of ['a', 'b', 'c'])
        dispatcher.send(tx(id)).subscribe({ complete: () => done++ });
      await timers.clock.tickAsync(1_000);
      expect(done).to.equal(3);
      expect(timers.clock.countTimers()).to.equal(0);
    });

    it('once the only forming send was withdrawn', async () => {
      const dispatcher = createDispatcher(
        new MemoryConnector<string>({ record: true, idPrefix: 'tx-' }),
        { maxWait: 1_000 },
      );
      const subscription = dispatcher.send(tx('a')).subscribe();
      subscription.unsubscribe();
      await timers.clock.tickAsync(0);
      expect(timers.clock.countTimers()).to.equal(0);
    });
  });
});
