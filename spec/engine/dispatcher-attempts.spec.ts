import { expect } from 'chai';
import { from, lastValueFrom, NEVER, startWith, toArray } from 'rxjs';
import {
  AttemptTimeoutError,
  CancellationError,
  type Connector,
  ConnectorContractError,
  createDispatcher,
  createTransaction,
  DispatchError,
  type DispatchReceipt,
  type DispatchReport,
  dispatchTo,
  LoopTimeoutError,
  type Outcome,
  produce,
  producerTask,
  type Transaction,
  type TransactionError,
} from '../../lib/index.js';
import { StubbornConnector } from './support/dispatch-connectors.js';
import { statusOf } from './support/test-connector.js';
import { inVirtualTime, record } from './support/virtual-time.js';

const tx = (id: string): Transaction<string> => createTransaction(id, { id });
const txs = (ids: string): Transaction<string>[] => Array.from(ids).map(tx);

/** Retry policy: attempts time out after 50 ms, 10 ms backoff. */
const timedRetry = (maxAttempts: number) => ({ maxAttempts, timeout: 50, backoff: 10 });

/** Design §4.9: a dispatch slot is held until the attempt's promise settled. */
describe('dispatch attempts: signal, slots and late results', () => {
  describe('dispatchTo', () => {
    it('passes every attempt a signal; a timed-out attempt is aborted, waited for, and its late success counts (no second send)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100);
        const run = record(
          from(txs('ab')).pipe(dispatchTo(connector, { batch: 2, retry: timedRetry(3) })),
        );
        scheduler.flush();
        expect(connector.calls).to.deep.equal([{ at: 0, ids: 'ab' }]);
        expect(connector.signals[0]?.aborted).to.equal(true);
        expect(connector.signals[0]?.reason).to.be.instanceOf(AttemptTimeoutError);
        expect(connector.inFlight.peak).to.equal(1);
        expect(connector.memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b']);
        expect(run.times).to.deep.equal([100]);
        const receipt = run.values[0] as DispatchReceipt<string>;
        expect(receipt.failed).to.deep.equal([]);
        expect(receipt.attempts).to.equal(1);
      });
    });

    it('the retry of a timed-out attempt that fails late starts only after it ended (never two at once)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100, (call) => (call === 1 ? 'reject' : 'resolve'));
        const run = record(from(txs('a')).pipe(dispatchTo(connector, { retry: timedRetry(3) })));
        scheduler.flush();
        expect(connector.calls.map((c) => c.at)).to.deep.equal([0, 110]);
        expect(connector.inFlight.peak).to.equal(1);
        expect(connector.memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
        expect((run.values[0] as DispatchReceipt<string>).attempts).to.equal(2);
      });
    });

    it('a connector that honours the signal is retried right after the abort and backoff', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100, () => 'resolve', true);
        const run = record(from(txs('a')).pipe(dispatchTo(connector, { retry: timedRetry(2) })));
        scheduler.flush();
        expect(connector.calls.map((c) => c.at)).to.deep.equal([0, 60]);
        expect(connector.inFlight.peak).to.equal(1);
        const receipt = run.values[0] as DispatchReceipt<string>;
        expect(receipt.error).to.be.instanceOf(AttemptTimeoutError);
        expect(run.times).to.deep.equal([110]);
      });
    });

    it('the last timed-out attempt keeps its slot until it ended: the next batch waits for it', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100, (call) => (call === 1 ? 'reject' : 'resolve'));
        const run = record(
          from(txs('ab')).pipe(
            dispatchTo(connector, { batch: 1, maxWait: 0, retry: timedRetry(1) }),
          ),
        );
        scheduler.flush();
        expect(connector.calls).to.deep.equal([
          { at: 0, ids: 'a' },
          { at: 100, ids: 'b' },
        ]);
        expect(connector.inFlight.peak).to.equal(1);
        expect(run.values.map((r) => r.failed.length)).to.deep.equal([1, 0]);
      });
    });

    it('unsubscribing aborts the attempt in flight with CancellationError(unsubscribe)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100);
        const run = record(NEVER.pipe(startWith(tx('a')), dispatchTo(connector, { maxWait: 0 })));
        scheduler.schedule(() => run.subscription.unsubscribe(), 20);
        scheduler.flush();
        const reason = connector.signals[0]?.reason as CancellationError;
        expect(reason).to.be.instanceOf(CancellationError);
        expect(reason.reason).to.equal('unsubscribe');
      });
    });
  });

  describe('createDispatcher', () => {
    it('a timed-out attempt that succeeds late completes the send: one call, delivered once', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100);
        const dispatcher = createDispatcher(connector, { maxWait: 0, retry: timedRetry(3) });
        const run = record(dispatcher.send(txs('ab')));
        scheduler.flush();
        expect(connector.calls).to.have.length(1);
        expect(connector.memory.dispatched).to.have.length(2);
        expect(run.completedAt).to.equal(100);
      });
    });
  });

  describe('produce (issue 13 item 8: loop timeout while a batch is being sent)', () => {
    const policy = {
      loop: { timeout: 50, concurrency: { value: 4 }, batch: { size: 1, maxWait: 0 } },
    };
    const summary = (outcomes: Outcome<string, Transaction<string>>[]): string[] =>
      outcomes.map((o) => `${o.transaction.id}:${statusOf(o)}`);

    it('starts no dispatch after the loop timeout, stays within dispatch.concurrency, and never reports released for a delivered transaction', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100);
        const run = record(from(txs('abcd')).pipe(produce(connector, producerTask(), policy)));
        scheduler.flush();
        expect(connector.calls).to.deep.equal([{ at: 0, ids: 'a' }]);
        expect(connector.inFlight.peak).to.equal(1);
        expect(connector.signals[0]?.aborted).to.equal(true);
        expect(connector.memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
        expect(summary(run.values)).to.have.members([
          'a:success',
          'b:released:loopTimeout',
          'c:released:loopTimeout',
          'd:released:loopTimeout',
        ]);
        expect(run.error).to.be.instanceOf(LoopTimeoutError);
        expect(run.erroredAt).to.equal(100);
      });
    });

    it('with onSuccess, a transaction delivered after the loop timeout ends timeout (dispatched, onSuccess not run), not released', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100);
        let onSuccessCalls = 0;
        const task = producerTask<string>({
          onSuccess: () => {
            onSuccessCalls++;
          },
        });
        const run = record(from(txs('ab')).pipe(produce(connector, task, policy)));
        scheduler.flush();
        const a = run.values.find((o) => o.transaction.id === 'a');
        expect(a?.status).to.equal('timeout');
        expect((a as { error: TransactionError }).error.message).to.match(/was dispatched/);
        expect(onSuccessCalls).to.equal(0);
        expect(summary(run.values)).to.include('b:released:loopTimeout');
      });
    });

    it('a batch whose attempt timed out, then gave up with its signal reason after the loop timeout, is released', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100, () => 'reason');
        const run = record(
          from(txs('a')).pipe(
            produce(connector, producerTask(), {
              ...policy,
              dispatch: { retry: { maxAttempts: 3, timeout: 30 } },
            }),
          ),
        );
        scheduler.flush();
        expect(connector.calls).to.have.length(1);
        expect(summary(run.values)).to.deep.equal(['a:released:loopTimeout']);
        expect(run.erroredAt).to.equal(100);
      });
    });

    it('a batch whose connector honours the abort (nothing sent) is released', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new StubbornConnector(100, () => 'resolve', true);
        const run = record(from(txs('ab')).pipe(produce(connector, producerTask(), policy)));
        scheduler.flush();
        expect(summary(run.values)).to.have.members([
          'a:released:loopTimeout',
          'b:released:loopTimeout',
        ]);
        expect(connector.memory.dispatched).to.deep.equal([]);
        expect(run.erroredAt).to.equal(50);
      });
    });
  });
});

/** Issue 13 item 10: a report that breaks the contract fails the batch, it never hangs. */
describe('dispatch reports that break the contract', () => {
  const stranger = createTransaction('z', { id: 'stranger' });
  const malformed: [string, unknown, RegExp][] = [
    ['failed is a string', { failed: 'x' }, /failed is string "x", not an array/],
    ['failed holds an empty object', { failed: [{}] }, /failed\[0\] is object \{\}/],
    ['failed holds null', { failed: [null] }, /failed\[0\] is null/],
    ['the report is a number', 5, /resolved with number 5/],
    [
      'failed names a transaction of another batch',
      { failed: [{ transaction: stranger, error: 'x' }] },
      /"stranger", which is not in the batch/,
    ],
  ];

  /** A connector whose dispatch resolves with `report` (a Promise when `async`). */
  const reporting = (report: unknown, async = false): Connector<string> => ({
    fetch: () => NEVER,
    dispatch: () => (async ? Promise.resolve(report) : report) as DispatchReport<string>,
  });

  for (const [name, report, message] of malformed) {
    it(`dispatchTo: ${name} → the receipt fails every transaction with ConnectorContractError`, () => {
      inVirtualTime((_h, scheduler) => {
        const run = record(from(txs('ab')).pipe(dispatchTo(reporting(report), { batch: 2 })));
        scheduler.flush();
        expect(run.completedAt).to.not.equal(null);
        const receipt = run.values[0] as DispatchReceipt<string>;
        expect(receipt.error).to.be.instanceOf(ConnectorContractError);
        expect((receipt.error as Error).message).to.match(message);
        expect(receipt.failed.map((f) => f.transaction.id)).to.deep.equal(['a', 'b']);
      });
    });
  }

  it('produce: a malformed report from a Promise → failed outcomes (stage dispatch), the run completes', async () => {
    const outcomes = await lastValueFrom(
      from(txs('ab')).pipe(
        produce(reporting({ failed: [null] }, true), producerTask(), {
          loop: { batch: { size: 2, maxWait: 0 } },
        }),
        toArray(),
      ),
    );
    expect(outcomes.map((o) => o.status)).to.deep.equal(['failed', 'failed']);
    const error = (outcomes[0] as { error: TransactionError }).error;
    expect(error.stage).to.equal('dispatch');
    expect(error.cause).to.be.instanceOf(ConnectorContractError);
  });

  it('createDispatcher: a malformed report from a Promise → the send errors with DispatchError', async () => {
    const dispatcher = createDispatcher(reporting({ failed: 'x' }, true), { maxWait: 0 });
    const error = await lastValueFrom(dispatcher.send(txs('ab'))).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).to.be.instanceOf(DispatchError);
    expect((error as DispatchError).failures[0]?.error).to.be.instanceOf(ConnectorContractError);
  });

  it('dispatchTo: a well-formed report naming a copy (same id) still fails just that transaction', () => {
    inVirtualTime((_h, scheduler) => {
      const copy = createTransaction('b', { id: 'b' });
      const run = record(
        from(txs('ab')).pipe(
          dispatchTo(reporting({ failed: [{ transaction: copy, error: 'no' }] }), { batch: 2 }),
        ),
      );
      scheduler.flush();
      const receipt = run.values[0] as DispatchReceipt<string>;
      expect(receipt.error).to.equal(undefined);
      expect(receipt.failed.map((f) => `${f.transaction.id}:${String(f.error)}`)).to.deep.equal([
        'b:no',
      ]);
    });
  });
});
