import { expect } from 'chai';
import { map, NEVER, type Observable } from 'rxjs';
import {
  BatchResultError,
  consume,
  consumerTask,
  createTransaction,
  processWith,
  TaskDefinitionError,
  type BatchItemResult,
  type ConsumerPolicyInput,
  type HandlerContext,
  type Transaction,
  type TransactionError,
} from '../../lib/index.js';
import { after, failAfter } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';

/** Marble values: `values('a', 'b')` maps each letter to a transaction with that payload. */
function values(...payloads: string[]): Record<string, Transaction<string>> {
  return Object.fromEntries(payloads.map((p) => [p, createTransaction(p, { id: p })]));
}

const ok = (value: string): BatchItemResult<string> => ({ ok: true, value });

interface BatchTask {
  readonly task: ReturnType<typeof consumerTask<string, string, undefined>>;
  /** `payloads@time#attempt` of every processBatch call. */
  readonly calls: string[];
  /** Errors that reached onException, by payload. */
  readonly handled: Map<string, TransactionError>;
}

/** A batch task whose processBatch call behaves as `behaviour` says. */
function batchTask(
  behaviour: (
    txs: readonly Transaction<string>[],
    ctx: HandlerContext<undefined>,
  ) => Observable<readonly BatchItemResult<string>[]>,
  withException = true,
): BatchTask {
  const calls: string[] = [];
  const handled = new Map<string, TransactionError>();
  const task = consumerTask({
    processBatch: (txs: readonly Transaction<string>[], ctx) => {
      calls.push(`${txs.map((tx) => tx.payload).join('')}@${now()}#${ctx.attempt}`);
      return behaviour(txs, ctx);
    },
    onException: withException
      ? (tx: Transaction<string>, error: TransactionError) => {
          handled.set(tx.payload, error);
        }
      : undefined,
  });
  return { task, calls, handled };
}

/** Every item succeeds with its payload in upper case, after `ms`. */
const upperAfter = (ms: number) => (txs: readonly Transaction<string>[]) =>
  after(
    ms,
    txs.map((tx) => ok(tx.payload.toUpperCase())),
  );

const policy = (
  concurrency: number,
  batch: { size?: number; maxWait?: number },
  rest: Omit<ConsumerPolicyInput, 'loop'> = {},
): ConsumerPolicyInput => ({
  ...rest,
  loop: { concurrency: { value: concurrency } },
  process: { ...rest.process, batch },
});

describe('processBatch (batch handlers)', () => {
  it('calls processBatch with up to process.batch.size transactions and gives each its own outcome', () => {
    inVirtualTime(({ cold, expectObservable }, scheduler) => {
      const { task, calls } = batchTask(upperAfter(10));
      const source = cold('(abcde|)', values('a', 'b', 'c', 'd', 'e'));
      expectObservable(
        source.pipe(
          processWith(task, policy(4, { size: 2 })),
          map((o) => (o.status === 'success' ? o.result : statusOf(o))),
        ),
      ).toBe('10ms (ABCD) 4ms (E|)', { A: 'A', B: 'B', C: 'C', D: 'D', E: 'E' });
      scheduler.flush();
      expect(calls).to.deep.equal(['ab@0#1', 'cd@0#1', 'e@10#1']);
    });
  });

  it('sends a partial batch after process.batch.maxWait', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, calls } = batchTask(upperAfter(1));
      record(
        helpers
          .cold('-a-b 26ms c|', values('a', 'b', 'c'))
          .pipe(processWith(task, policy(10, { size: 10, maxWait: 5 }))),
      );
      scheduler.flush();
      // a and b within 5 ms of a; c alone when the source completed, a frame after it came.
      expect(calls).to.deep.equal(['ab@6#1', 'c@31#1']);
    });
  });

  it('routes each failed item to onException and the others to success', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, handled } = batchTask((txs) =>
        after(
          1,
          txs.map((tx): BatchItemResult<string> =>
            tx.payload === 'b' ? { ok: false, error: new Error('b is wrong') } : ok(tx.payload),
          ),
        ),
      );
      const outcomes = record(
        helpers.cold('(abc|)', values('a', 'b', 'c')).pipe(processWith(task, policy(3, {}))),
      );
      scheduler.flush();
      expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
        'a:success',
        'b:exception',
        'c:success',
      ]);
      expect(handled.get('b')?.stage).to.equal('process');
      expect(handled.get('b')?.message).to.equal(
        'process of transaction b failed: Error: b is wrong',
      );
    });
  });

  it('retries a batch that throws, then splits it in halves to isolate the poison transaction', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, calls, handled } = batchTask((txs) =>
        txs.some((tx) => tx.payload === 'p')
          ? failAfter(1, new Error('constraint violated'))
          : upperAfter(1)(txs),
      );
      const outcomes = record(
        helpers
          .cold('(abpc|)', values('a', 'b', 'p', 'c'))
          .pipe(
            processWith(
              task,
              policy(4, { size: 4 }, { process: { retry: { maxAttempts: 2, backoff: 0 } } }),
            ),
          ),
      );
      scheduler.flush();
      expect(calls).to.deep.equal([
        'abpc@0#1',
        'abpc@1#2',
        'ab@2#1',
        'pc@2#1',
        'pc@3#2',
        'p@4#1',
        'c@4#1',
        'p@5#2',
      ]);
      expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
        'a:success',
        'b:success',
        'c:success',
        'p:exception',
      ]);
      expect([...handled.keys()]).to.deep.equal(['p']);
      expect(handled.get('p')?.message).to.equal(
        'process of transaction p failed: Error: constraint violated',
      );
    });
  });

  it('aborts a batch attempt that runs past process.retry.timeout and retries it', () => {
    inVirtualTime((helpers, scheduler) => {
      const signals: AbortSignal[] = [];
      const { task, calls } = batchTask((txs, ctx) => {
        signals.push(ctx.signal);
        return ctx.attempt === 1 ? NEVER : upperAfter(1)(txs);
      });
      const outcomes = record(
        helpers
          .cold('(ab|)', values('a', 'b'))
          .pipe(
            processWith(
              task,
              policy(2, {}, { process: { retry: { maxAttempts: 2, timeout: 10, backoff: 0 } } }),
            ),
          ),
      );
      scheduler.flush();
      expect(calls).to.deep.equal(['ab@0#1', 'ab@10#2']);
      expect(signals[0]?.aborted).to.equal(true);
      expect(outcomes.values.map(statusOf)).to.deep.equal(['success', 'success']);
    });
  });

  it('a transaction whose budget runs out leaves its batch; a batch everyone left is aborted', () => {
    inVirtualTime((helpers, scheduler) => {
      const signals: AbortSignal[] = [];
      const { task } = batchTask((_txs, ctx) => {
        signals.push(ctx.signal);
        return NEVER;
      }, false);
      const outcomes = record(
        helpers
          .cold('(ab|)', values('a', 'b'))
          .pipe(processWith(task, policy(2, {}, { transactionRuntime: { timeout: 20 } }))),
      );
      scheduler.flush();
      expect(outcomes.values.map(statusOf)).to.deep.equal(['timeout', 'timeout']);
      expect(outcomes.times).to.deep.equal([20, 20]);
      expect(signals).to.have.length(1);
      expect(signals[0]?.aborted).to.equal(true);
    });
  });

  it('a transaction whose budget runs out during a call keeps its slot until the call ends', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, calls } = batchTask(upperAfter(20), false);
      const outcomes = record(
        helpers
          .cold('a----b-c|', values('a', 'b', 'c'))
          .pipe(
            processWith(
              task,
              policy(2, { size: 5, maxWait: 10 }, { transactionRuntime: { timeout: 22 } }),
            ),
          ),
      );
      scheduler.flush();
      // a and b go at 5 (every slot taken); a's budget ends at 22, inside the call (5–25): it
      // keeps its slot until 25, so c (at 7) starts only then.
      expect(calls).to.deep.equal(['ab@5#1', 'c@25#1']);
      expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
        'a:timeout',
        'b:success',
        'c:success',
      ]);
      expect(outcomes.times.slice(0, 2)).to.deep.equal([25, 25]);
      const [timedOut] = outcomes.values;
      expect(timedOut?.status === 'timeout' && timedOut.error.message).to.equal(
        'transaction a exceeded its runtime budget of 22 ms in stage process while its batch was being processed',
      );
    });
  });

  it('fails every transaction of a batch with a BatchResultError when the results do not match', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, handled, calls } = batchTask(() => after(1, [ok('only one')]), true);
      record(
        helpers
          .cold('(ab|)', values('a', 'b'))
          .pipe(processWith(task, policy(2, {}, { process: { retry: { maxAttempts: 3 } } }))),
      );
      scheduler.flush();
      expect(calls).to.have.length(1);
      const error = handled.get('a');
      expect(error?.cause).to.be.instanceOf(BatchResultError);
      expect(error?.message).to.equal(
        'process of transaction a failed: BatchResultError: processBatch returned 1 results for 2 transactions; return an array with one { ok: true, value } or { ok: false, error } per transaction, in the order given',
      );
      expect(handled.get('b')?.cause).to.equal(error?.cause);
    });
  });

  it('never puts two transactions of one key in a batch (keyConcurrency 1)', () => {
    inVirtualTime((helpers, scheduler) => {
      const calls: string[] = [];
      const task = consumerTask({
        key: (tx: Transaction<string>) => tx.payload.charAt(0),
        processBatch: (txs: readonly Transaction<string>[]) => {
          calls.push(txs.map((tx) => tx.payload).join(','));
          return after(
            1,
            txs.map((tx) => ok(tx.payload)),
          );
        },
      });
      record(
        helpers
          .cold('(abcd|)', {
            a: createTransaction('x1'),
            b: createTransaction('x2'),
            c: createTransaction('y1'),
            d: createTransaction('x3'),
          })
          .pipe(processWith(task, policy(4, { size: 4 }))),
      );
      scheduler.flush();
      expect(calls).to.deep.equal(['x1,y1', 'x2', 'x3']);
    });
  });

  it('with consume: one settlement per transaction, dead letters for failed items', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new TestConnector<string>({ source: ['a', 'bad', 'c', 'd', 'e'] });
      const { task } = batchTask(
        (txs) =>
          after(
            2,
            txs.map((tx): BatchItemResult<string> =>
              tx.payload === 'bad' ? { ok: false, error: new Error('bad row') } : ok(tx.payload),
            ),
          ),
        false,
      );
      const outcomes = record(
        consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: 4 } } }),
      );
      scheduler.flush();
      expect(outcomes.values.map(statusOf).sort()).to.deep.equal([
        'failed',
        'success',
        'success',
        'success',
        'success',
      ]);
      expect(settledExactlyOnce(connector)).to.equal(null);
      expect(
        connector.settles.find((s) => s.transaction.payload === 'bad')?.decision.type,
      ).to.equal('deadLetter');
    });
  });

  it('consumerTask takes process or processBatch, not both, and says so', () => {
    expect(() =>
      consumerTask({
        process: () => 1,
        processBatch: () => [],
      } as never),
    ).to.throw(
      TaskDefinitionError,
      'task "consumer": give either process or processBatch, not both',
    );
    expect(() => consumerTask({} as never)).to.throw(
      TaskDefinitionError,
      'task "consumer": process must be a function, got undefined',
    );
    expect(() => consumerTask({ processBatch: 'insert' } as never)).to.throw(
      TaskDefinitionError,
      'task "consumer": processBatch must be a function, got string',
    );
  });
});
