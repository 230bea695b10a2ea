import { expect } from 'chai';
import {
  defer,
  EMPTY,
  finalize,
  from,
  lastValueFrom,
  map,
  NEVER,
  Observable,
  of,
  throwError,
  timer,
  toArray,
} from 'rxjs';
import {
  CancellationError,
  ConnectorContractError,
  consumerTask,
  createTransaction,
  LoopTimeoutError,
  MemoryConnector,
  NonRetryableError,
  PolicyError,
  produce,
  producerTask,
  TaskDefinitionError,
  TransactionError,
  type Connector,
  type DispatchReport,
  type FetchRequest,
  type Outcome,
  type ProducerPolicyInput,
  type ProducerTask,
  type Transaction,
} from '../../lib/index.js';
import { after, letters } from './support/handlers.js';
import { statusOf } from './support/test-connector.js';
import { Gauge, inVirtualTime, now, record } from './support/virtual-time.js';
import { fakeTimersEachSpec } from './support/fake-timers.js';

const tx = (id: string): Transaction<string> =>
  createTransaction(id, { id, metadata: { origin: `source-${id}` } });

/** Marble values: each letter maps to a transaction with that id and payload. */
const inputs = (ids: string): Record<string, Transaction<string>> =>
  Object.fromEntries(Array.from(ids).map((id) => [id, tx(id)]));

const ids = map((o: Outcome<string, Transaction<string>>) => o.transaction.id);

const policyOf = (
  size: number,
  maxWait: number,
  more: ProducerPolicyInput = {},
): ProducerPolicyInput => ({
  ...more,
  loop: { ...more.loop, batch: { size, maxWait } },
});

/** One `connector.dispatch` call as the memory connector saw it. */
interface DispatchCall {
  readonly at: number;
  readonly ids: string[];
  readonly call: number;
}

/** A memory connector that logs every dispatch call (failed ones too) with its time. */
function loggingConnector<P = string>(
  onDispatch?: (batch: readonly Transaction<P>[], call: number) => DispatchReport<P> | undefined,
): { memory: MemoryConnector<P>; calls: DispatchCall[] } {
  const calls: DispatchCall[] = [];
  const memory = new MemoryConnector<P>({
    record: true,
    idPrefix: 'tx-',
    onDispatch: (batch, call) => {
      calls.push({ at: now(), ids: batch.map((t) => t.id), call });
      return onDispatch?.(batch, call);
    },
  });
  return { memory, calls };
}

/** A connector whose dispatch takes `delay` (virtual) ms, tracking batches in flight. */
class SlowConnector implements Connector<string> {
  readonly memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
  readonly calls: DispatchCall[] = [];
  readonly sending = new Gauge();

  constructor(private readonly delay: number) {}

  fetch(request: FetchRequest): Observable<Transaction<string>> {
    return this.memory.fetch(request);
  }

  dispatch(batch: readonly Transaction<string>[]): Observable<DispatchReport<string>> {
    return defer(() => {
      this.calls.push({ at: now(), ids: batch.map((t) => t.id), call: this.calls.length + 1 });
      this.sending.enter();
      return timer(this.delay).pipe(
        map(() => this.memory.dispatch(batch)),
        finalize(() => this.sending.exit()),
      );
    });
  }
}

/** A prepare handler that upper-cases the payload, recording when each prepare started. */
function upper(duration: (id: string) => number = () => 0) {
  const gauge = new Gauge();
  const starts: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const task = producerTask({
    prepare: (t: Transaction<string>, ctx) => {
      gauge.enter();
      starts.push(`${t.id}@${now()}`);
      signals.set(t.id, ctx.signal);
      const ms = duration(t.id);
      const work = ms === Infinity ? NEVER : after(ms, t.payload.toUpperCase());
      return work.pipe(finalize(() => gauge.exit()));
    },
  });
  return { task, gauge, starts, signals };
}

const boom = new Error('boom');

describe('produce', () => {
  describe('definition', () => {
    it('throws ConnectorContractError for a connector without dispatch', () => {
      const fetchOnly = { fetch: () => EMPTY } as unknown as Connector<string>;
      expect(() => produce(fetchOnly, producerTask<string>())).to.throw(ConnectorContractError);
    });

    it('throws TaskDefinitionError for a task that is not a producer task', () => {
      const consumer = consumerTask({ process: () => 1 });
      expect(() =>
        produce(
          new MemoryConnector({ record: true, idPrefix: 'tx-' }),
          consumer as unknown as ProducerTask,
        ),
      ).to.throw(TaskDefinitionError);
    });

    it('producerTask rejects a handler that is not a function', () => {
      expect(() => producerTask({ prepare: 'nope' as unknown as () => string })).to.throw(
        TaskDefinitionError,
      );
    });

    it('throws PolicyError when the policy is wrong, before anything is subscribed', () => {
      expect(() =>
        produce(new MemoryConnector({ record: true, idPrefix: 'tx-' }), producerTask(), {
          loop: { batch: { size: 0 } },
        }),
      ).to.throw(PolicyError, /loop\.batch\.size/);
    });
  });

  describe('batching (marbles, virtual time)', () => {
    it('by size: a batch leaves as soon as it holds loop.batch.size transactions', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-a-b-c-d-e-f------|', inputs('abcdef'));
        expectObservable(source.pipe(produce(memory, upper().task, policyOf(2, 100)), ids)).toBe(
          '---(ab)(cd)(ef)---|',
        );
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [3, 'ab'],
          [7, 'cd'],
          [11, 'ef'],
        ]);
      });
    });

    it('by time: a batch that does not fill leaves loop.batch.maxWait after its first transaction', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-a-b-------c-----------|', inputs('abc'));
        expectObservable(source.pipe(produce(memory, upper().task, policyOf(10, 5)), ids)).toBe(
          '------(ab)------(c)----|',
        );
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [6, 'ab'],
          [16, 'c'],
        ]);
      });
    });

    it('a full batch leaves at once and the next one waits its own maxWait', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-ab--c-------|', inputs('abc'));
        expectObservable(source.pipe(produce(memory, upper().task, policyOf(2, 5)), ids)).toBe(
          '--(ab)----c--|',
        );
        scheduler.flush();
        expect(calls.map((c) => c.at)).to.deep.equal([2, 10]);
      });
    });

    it('flushes the partial batch when the source completes (no waiting for maxWait)', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-a-b-c-d-e-|', inputs('abcde'));
        expectObservable(source.pipe(produce(memory, upper().task, policyOf(2, 100)), ids)).toBe(
          '---(ab)(cd)(e|)',
        );
        scheduler.flush();
        expect(calls.map((c) => c.ids.join(''))).to.deep.equal(['ab', 'cd', 'e']);
      });
    });

    it('with maxWait 0 each prepared transaction leaves at once', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-a-b-|', inputs('ab'));
        expectObservable(source.pipe(produce(memory, upper().task, policyOf(10, 0)), ids)).toBe(
          '-a-b-|',
        );
        scheduler.flush();
        expect(calls.map((c) => c.ids.join(''))).to.deep.equal(['a', 'b']);
      });
    });

    it('batches what was prepared: prepare durations decide when a batch fills', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const durations: Record<string, number> = { a: 10, b: 2, c: 3, d: 20 };
        const { task } = upper((id) => durations[id] ?? 0);
        const source = cold('(abcd|)', inputs('abcd'));
        // concurrency 4: b ready at 2, c at 3 → [b c]; a at 10, d at 20 → [a d] at 20.
        expectObservable(
          source.pipe(
            produce(memory, task, policyOf(2, 50, { loop: { concurrency: { value: 4 } } })),
            ids,
          ),
        ).toBe('---(bc) 13ms (ad|)');
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [3, 'bc'],
          [20, 'ad'],
        ]);
      });
    });

    it('a partial batch leaves as soon as the source is done and nothing is left to prepare', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const durations: Record<string, number> = { a: 1, b: 6 };
        const { task } = upper((id) => durations[id] ?? 0);
        const source = cold('ab|', inputs('ab'));
        expectObservable(
          source.pipe(
            produce(memory, task, policyOf(3, 100, { loop: { concurrency: { value: 2 } } })),
            ids,
          ),
        ).toBe('-------(ab|)');
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([[7, 'ab']]);
      });
    });

    it('the partial batch leaves on completion even while another transaction is in onException', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector();
        const task = producerTask({
          prepare: (t: Transaction<string>) => {
            if (t.id === 'a') throw boom;
            return t.payload;
          },
          onException: () => after(50, 'noted'),
        });
        const run = record(
          of(tx('a'), tx('b')).pipe(
            produce(memory, task, policyOf(10, 100, { loop: { concurrency: { value: 2 } } })),
          ),
        );
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([[0, 'b']]);
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.have.members([
          'a:exception',
          'b:success',
        ]);
      });
    });

    it('10 items with batch 3 → 10 outcomes, dispatched as 3 + 3 + 3 + 1 (reference case 62)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector();
        const run = record(
          from(letters(10).map(tx)).pipe(produce(memory, upper().task, policyOf(3, 100))),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(Array(10).fill('success'));
        expect(calls.map((c) => c.ids.length)).to.deep.equal([3, 3, 3, 1]);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(letters(10));
        expect(run.completedAt).to.equal(0);
      });
    });

    it('the default batch is larger than 1: 5 transactions go out in one call', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector();
        const run = record(from(letters(5).map(tx)).pipe(produce(memory, upper().task)));
        scheduler.flush();
        expect(run.values).to.have.length(5);
        expect(calls.map((c) => c.ids.length)).to.deep.equal([5]);
      });
    });
  });

  describe('outcomes', () => {
    it('happy path → one success per input, in batch order (reference cases 61 and 62)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const run = record(from(letters(5).map(tx)).pipe(produce(memory, upper().task)));
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal(
          letters(5).map((l) => `${l}:success`),
        );
        expect(memory.dispatchCount).to.equal(1);
      });
    });

    it('success result is the dispatched transaction: prepared payload, input id and metadata', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const input = tx('a');
        const run = record(of(input).pipe(produce(memory, upper().task, policyOf(1, 0))));
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'success')
          return expect.fail(`expected success, got ${String(outcome?.status)}`);
        expect(outcome.transaction).to.equal(input);
        expect(outcome.result.payload).to.equal('A');
        expect(outcome.result.id).to.equal('a');
        expect(outcome.result.metadata).to.deep.equal({ origin: 'source-a' });
        expect(Object.isFrozen(outcome.result)).to.equal(true);
        expect(memory.dispatched).to.deep.equal([outcome.result]);
      });
    });

    it('without prepare the input transaction itself is dispatched and is the result', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const input = tx('a');
        const run = record(of(input).pipe(produce(memory, producerTask<string>(), policyOf(1, 0))));
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'success') return expect.fail('expected success');
        expect(outcome.result).to.equal(input);
        expect(memory.dispatched[0]).to.equal(input);
      });
    });

    it('plain payloads are wrapped with createTransaction', () => {
      inVirtualTime((_h, scheduler) => {
        const memory = new MemoryConnector<{ n: number }>({ record: true, idPrefix: 'tx-' });
        const run = record(
          of({ n: 1 }, { n: 2 }).pipe(produce(memory, producerTask<{ n: number }>())),
        );
        scheduler.flush();
        expect(run.values.map((o) => o.transaction.payload)).to.deep.equal([{ n: 1 }, { n: 2 }]);
        const [first, second] = run.values;
        expect(first?.transaction.id).to.be.a('string').and.not.equal(second?.transaction.id);
        expect(first?.transaction.metadata).to.deep.equal({});
        expect(Object.isFrozen(first?.transaction)).to.equal(true);
        expect(memory.dispatched.map((t) => t.payload)).to.deep.equal([{ n: 1 }, { n: 2 }]);
      });
    });

    it('onSuccess gets the input and the dispatched transaction; the outcome waits for it', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory } = loggingConnector();
        const seen: string[] = [];
        const task = producerTask({
          prepare: (t: Transaction<string>) => t.payload.toUpperCase(),
          onSuccess: (input, dispatched) => {
            seen.push(`${input.payload}→${dispatched.payload}@${now()}`);
            return after(4, 'done');
          },
        });
        expectObservable(
          cold('-a|', inputs('a')).pipe(produce(memory, task, policyOf(1, 0)), ids),
        ).toBe('-----(a|)');
        scheduler.flush();
        expect(seen).to.deep.equal(['a→A@1']);
      });
    });

    it('a prepare error → onException once (stage prepare, category system), not dispatched (reference case 61)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const errors: TransactionError[] = [];
        const task = producerTask({
          prepare: (t: Transaction<string>) => {
            if (t.id === 'b') throw boom;
            return t.payload;
          },
          onException: (_t, error) => {
            errors.push(error);
            return 'handled';
          },
        });
        const run = record(from(['a', 'b', 'c'].map(tx)).pipe(produce(memory, task)));
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.have.members([
          'a:success',
          'b:exception',
          'c:success',
        ]);
        expect(errors).to.have.length(1);
        const [error] = errors;
        expect(error).to.be.instanceOf(TransactionError);
        expect(error?.stage).to.equal('prepare');
        expect(error?.category).to.equal('system');
        expect(error?.cause).to.equal(boom);
        expect(error?.transactionId).to.equal('b');
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'c']);
        const b = run.values.find((o) => o.transaction.id === 'b');
        expect(b?.status === 'exception' && b.handled).to.equal('handled');
      });
    });

    it('a prepare error without onException → failed', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const task = producerTask({
          prepare: (): string => {
            throw boom;
          },
        });
        const run = record(of(tx('a')).pipe(produce(memory, task)));
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'failed') return expect.fail('expected failed');
        expect(outcome.error.stage).to.equal('prepare');
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('a prepare timeout (attempt timeout) → timeout, onException once (reference case 61)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        let handled = 0;
        const task = producerTask({
          prepare: (): Observable<string> => NEVER,
          onException: () => {
            handled++;
          },
        });
        const run = record(
          of(tx('a')).pipe(produce(memory, task, { prepare: { retry: { timeout: 20 } } })),
        );
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'timeout') return expect.fail('expected timeout');
        expect(outcome.error.category).to.equal('timeout');
        expect(outcome.error.stage).to.equal('prepare');
        expect(outcome.handled).to.equal(true);
        expect(handled).to.equal(1);
        expect(run.times).to.deep.equal([20]);
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('a prepare that throws a TimeoutError → category timeout (reference case 61)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const timeoutError = Object.assign(new Error('too slow'), { name: 'TimeoutError' });
        const task = producerTask({
          prepare: (): string => {
            throw timeoutError;
          },
        });
        const run = record(of(tx('a')).pipe(produce(memory, task)));
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['timeout']);
      });
    });

    it('prepare is retried per prepare.retry with backoff in virtual time', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector();
        const attempts: string[] = [];
        const task = producerTask({
          prepare: (t: Transaction<string>, ctx) => {
            attempts.push(`${ctx.attempt}@${now()}`);
            if (ctx.attempt < 3) throw boom;
            return t.payload;
          },
        });
        const run = record(
          of(tx('a')).pipe(
            produce(memory, task, {
              ...policyOf(1, 0),
              prepare: { retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 2 } },
            }),
          ),
        );
        scheduler.flush();
        expect(attempts).to.deep.equal(['1@0', '2@10', '3@30']);
        expect(run.values.map(statusOf)).to.deep.equal(['success']);
        expect(calls.map((c) => c.at)).to.deep.equal([30]);
      });
    });

    it('NonRetryableError from prepare stops its retries at once', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        let attempts = 0;
        const task = producerTask({
          prepare: (): string => {
            attempts++;
            throw new NonRetryableError('bad input');
          },
        });
        const run = record(
          of(tx('a')).pipe(produce(memory, task, { prepare: { retry: { maxAttempts: 5 } } })),
        );
        scheduler.flush();
        expect(attempts).to.equal(1);
        expect(run.values.map(statusOf)).to.deep.equal(['failed']);
      });
    });

    it('an onSuccess error → onException once (stage success); it was dispatched (reference case 61)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const stages: (string | undefined)[] = [];
        const task = producerTask({
          onSuccess: (): void => {
            throw boom;
          },
          onException: (_t: Transaction<string>, error) => void stages.push(error.stage),
        });
        const run = record(of(tx('a')).pipe(produce(memory, task, policyOf(1, 0))));
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['exception']);
        expect(stages).to.deep.equal(['success']);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
      });
    });

    it('a failing onException → failed with handlerError', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const task = producerTask({
          prepare: (): string => {
            throw boom;
          },
          onException: (): void => {
            throw new Error('handler broke');
          },
        });
        const run = record(of(tx('a')).pipe(produce(memory, task)));
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'failed') return expect.fail('expected failed');
        expect(outcome.error.stage).to.equal('prepare');
        expect(outcome.handlerError?.stage).to.equal('exception');
      });
    });

    it('prepare may return a Promise (real time)', async () => {
      const memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
      const task = producerTask({
        prepare: async (t: Transaction<string>) => {
          await Promise.resolve();
          return `${t.payload}!`;
        },
      });
      const outcomes = await lastValueFrom(
        from(['a', 'b'].map(tx)).pipe(
          produce(memory, task, { loop: { concurrency: { value: 2 } } }),
          toArray(),
        ),
      );
      expect(outcomes.map(statusOf)).to.deep.equal(['success', 'success']);
      expect(memory.dispatched.map((t) => t.payload)).to.deep.equal(['a!', 'b!']);
    });
  });

  describe('dispatch failures', () => {
    it('a batch is retried per dispatch.retry with backoff; success after the third call', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector((_batch, call) => {
          if (call < 3) throw boom;
          return undefined;
        });
        const run = record(
          from(['a', 'b'].map(tx)).pipe(
            produce(memory, upper().task, {
              ...policyOf(2, 100),
              dispatch: { retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 2 } },
            }),
          ),
        );
        scheduler.flush();
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [0, 'ab'],
          [10, 'ab'],
          [30, 'ab'],
        ]);
        expect(run.values.map(statusOf)).to.deep.equal(['success', 'success']);
        expect(run.times).to.deep.equal([30, 30]);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b']);
      });
    });

    it('a batch that fails every attempt → each of its transactions fails (stage dispatch), onException once each', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector(() => {
          throw boom;
        });
        const errors: TransactionError[] = [];
        const task = producerTask({
          onException: (_t: Transaction<string>, error) => void errors.push(error),
        });
        const run = record(
          from(['a', 'b'].map(tx)).pipe(
            produce(memory, task, {
              ...policyOf(2, 100),
              dispatch: { retry: { maxAttempts: 3, backoff: 5 } },
            }),
          ),
        );
        scheduler.flush();
        expect(calls).to.have.length(3);
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal([
          'a:exception',
          'b:exception',
        ]);
        expect(errors.map((e) => [e.transactionId, e.stage, e.category])).to.deep.equal([
          ['a', 'dispatch', 'system'],
          ['b', 'dispatch', 'system'],
        ]);
        expect(errors.every((e) => e.cause === boom)).to.equal(true);
        expect(memory.dispatched).to.deep.equal([]);
      });
    });

    it('a failed batch does not stop the run: the next batch goes out', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector((_batch, call) => {
          if (call === 1) throw boom;
          return undefined;
        });
        const run = record(
          from(letters(4).map(tx)).pipe(produce(memory, upper().task, policyOf(2, 100))),
        );
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal([
          'a:failed',
          'b:failed',
          'c:success',
          'd:success',
        ]);
        expect(run.completedAt).to.equal(0);
      });
    });

    it('NonRetryableError from dispatch stops its retries at once', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory, calls } = loggingConnector(() => {
          throw new NonRetryableError('rejected for good');
        });
        const run = record(
          of(tx('a')).pipe(
            produce(memory, upper().task, {
              ...policyOf(1, 0),
              dispatch: { retry: { maxAttempts: 4 } },
            }),
          ),
        );
        scheduler.flush();
        expect(calls).to.have.length(1);
        expect(run.values.map(statusOf)).to.deep.equal(['failed']);
      });
    });

    it('a partial failure is reported for its transaction only, never swallowed', () => {
      inVirtualTime((_h, scheduler) => {
        const rejected = new Error('b rejected');
        const { memory, calls } = loggingConnector((batch) => ({
          failed: batch
            .filter((t) => t.id === 'b')
            .map((transaction) => ({ transaction, error: rejected })),
        }));
        const errors: TransactionError[] = [];
        const task = producerTask({
          prepare: (t: Transaction<string>) => t.payload.toUpperCase(),
          onException: (_t, error) => void errors.push(error),
        });
        const run = record(
          from(['a', 'b', 'c'].map(tx)).pipe(
            produce(memory, task, { ...policyOf(3, 100), dispatch: { retry: { maxAttempts: 3 } } }),
          ),
        );
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal([
          'a:success',
          'b:exception',
          'c:success',
        ]);
        expect(calls).to.have.length(1);
        expect(errors).to.have.length(1);
        expect(errors[0]?.stage).to.equal('dispatch');
        expect(errors[0]?.transactionId).to.equal('b');
        expect(errors[0]?.cause).to.equal(rejected);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'c']);
      });
    });

    it('a partial failure reported with a copy of the transaction is matched by id', () => {
      inVirtualTime((_h, scheduler) => {
        const copying: Connector<string> = {
          fetch: () => EMPTY,
          dispatch: (batch) => ({
            failed: batch
              .filter((t) => t.id === 'b')
              .map((t) => ({
                transaction: createTransaction(t.payload, { id: t.id }),
                error: boom,
              })),
          }),
        };
        const run = record(from(['a', 'b'].map(tx)).pipe(produce(copying, upper().task)));
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal([
          'a:success',
          'b:failed',
        ]);
      });
    });

    it('a partial failure reported for one transaction does not fail another with the same id', () => {
      inVirtualTime((_h, scheduler) => {
        const first = createTransaction('first', { id: 'dup' });
        const second = createTransaction('second', { id: 'dup' });
        const { memory } = loggingConnector((batch) => ({
          failed: batch
            .filter((t) => t.payload === 'first')
            .map((transaction) => ({ transaction, error: boom })),
        }));
        const run = record(of(first, second).pipe(produce(memory, producerTask<string>())));
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.payload}:${o.status}`)).to.deep.equal([
          'first:failed',
          'second:success',
        ]);
        expect(memory.dispatched.map((t) => t.payload)).to.deep.equal(['second']);
      });
    });
  });

  describe('concurrency and backpressure', () => {
    it('concurrency 3 with batch 9 → prepares run 3 at a time, never more (reference case 63)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const { task, gauge, starts } = upper(() => 10);
        const run = record(
          from(letters(9).map(tx)).pipe(
            produce(memory, task, policyOf(9, 1000, { loop: { concurrency: { value: 3 } } })),
          ),
        );
        scheduler.flush();
        expect(gauge.peak).to.equal(3);
        expect(starts.map((s) => s.split('@')[1])).to.deep.equal([
          '0',
          '0',
          '0',
          '10',
          '10',
          '10',
          '20',
          '20',
          '20',
        ]);
        expect(run.values).to.have.length(9);
        expect(memory.dispatchCount).to.equal(1);
        expect(run.completedAt).to.equal(30);
      });
    });

    it('a prepared transaction keeps its prepare slot until the dispatcher has room', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(100);
        const { task, starts } = upper();
        const run = record(
          from(letters(10).map(tx)).pipe(
            produce(connector, task, policyOf(2, 1000, { loop: { concurrency: { value: 2 } } })),
          ),
        );
        scheduler.flush();
        // [a b] sending, [c d] forming, e and f prepared and holding both prepare slots.
        expect(starts).to.deep.equal([
          'a@0',
          'b@0',
          'c@0',
          'd@0',
          'e@0',
          'f@0',
          'g@100',
          'h@100',
          'i@200',
          'j@200',
        ]);
        expect(connector.calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [0, 'ab'],
          [100, 'cd'],
          [200, 'ef'],
          [300, 'gh'],
          [400, 'ij'],
        ]);
        expect(run.times).to.deep.equal([100, 100, 200, 200, 300, 300, 400, 400, 500, 500]);
        expect(run.completedAt).to.equal(500);
      });
    });

    it('dispatch.concurrency bounds the batches being sent at once', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(100);
        const run = record(
          from(letters(8).map(tx)).pipe(
            produce(
              connector,
              upper().task,
              policyOf(2, 1000, {
                loop: { concurrency: { value: 4 } },
                dispatch: { concurrency: { value: 2 } },
              }),
            ),
          ),
        );
        scheduler.flush();
        expect(connector.sending.peak).to.equal(2);
        expect(connector.calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([
          [0, 'ab'],
          [0, 'cd'],
          [100, 'ef'],
          [100, 'gh'],
        ]);
        expect(run.values).to.have.length(8);
        expect(run.completedAt).to.equal(200);
      });
    });

    it('a push source faster than prepare waits in line; every input gets its outcome', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const { memory } = loggingConnector();
        const { task, gauge } = upper(() => 5);
        const run = record(
          cold('(abcdefgh|)', inputs('abcdefgh')).pipe(produce(memory, task, policyOf(3, 10))),
        );
        scheduler.flush();
        expect(gauge.peak).to.equal(1);
        expect(run.values.map((o) => o.transaction.id)).to.deep.equal(letters(8));
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(letters(8));
      });
    });
    it('a large backlog behind a retried batch is produced without exhausting the stack', () => {
      inVirtualTime((_h, scheduler) => {
        const memory = new MemoryConnector<number>({
          record: false,
          onDispatch: (_batch, call) => {
            if (call === 1) throw boom;
            return undefined;
          },
        });
        let successes = 0;
        const run = record(
          from(Array.from({ length: 100_000 }, (_, i) => i)).pipe(
            produce(memory, producerTask<number>(), {
              loop: { concurrency: { value: 10 }, batch: { size: 10, maxWait: 5 } },
              dispatch: { retry: { maxAttempts: 2, backoff: 5 } },
            }),
            map((o) => (o.status === 'success' ? successes++ : o)),
          ),
        );
        scheduler.flush();
        expect(run.error).to.equal(undefined);
        expect(successes).to.equal(100_000);
      });
    });
  });

  describe('limit', () => {
    it('limit 5 of 20 → 5 outcomes, the source is unsubscribed once 5 were taken (reference case 62)', () => {
      inVirtualTime(({ hot, expectObservable, expectSubscriptions }, scheduler) => {
        const { memory } = loggingConnector();
        const source = hot('-a-b-c-d-e-f-g-h-i-|', inputs('abcdefghi'));
        expectObservable(
          source.pipe(
            produce(memory, upper().task, policyOf(10, 100, { loop: { limit: 5 } })),
            ids,
          ),
        ).toBe('---------(abcde|)');
        expectSubscriptions(source.subscriptions).toBe('^--------!');
        scheduler.flush();
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
      });
    });

    it('limit on a synchronous source pulls no more than the limit from it', () => {
      let pulled = 0;
      function* payloads(): Generator<string> {
        while (pulled < 1000) yield `p${++pulled}`;
      }
      inVirtualTime((_h, scheduler) => {
        const memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
        const run = record(
          from(payloads()).pipe(produce(memory, producerTask<string>(), { loop: { limit: 5 } })),
        );
        scheduler.flush();
        expect(run.values).to.have.length(5);
      });
      expect(pulled).to.equal(5);
    });

    it('limit 0 takes nothing and completes at once, even on a source that never completes', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const { memory } = loggingConnector();
        const { task, starts } = upper();
        const source = hot<Transaction<string>>('-a-b-c-', inputs('abc'));
        expectObservable(source.pipe(produce(memory, task, { loop: { limit: 0 } }))).toBe('|');
        scheduler.flush();
        expect(starts).to.deep.equal([]);
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('an empty source → no outcome, no prepare, no dispatch; completes at once (reference case 62)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const { memory } = loggingConnector();
        const { task, starts } = upper();
        expectObservable(EMPTY.pipe(produce(memory, task))).toBe('|');
        scheduler.flush();
        expect(starts).to.deep.equal([]);
        expect(memory.dispatchCount).to.equal(0);
      });
    });
  });

  describe('transaction runtime budget', () => {
    it('runtime 100 with 500 ms prepares → all 3 time out at 100, cancelled, never dispatched (reference case 64)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        let handled = 0;
        const { task, signals } = upper(() => 500);
        const withHandler = producerTask({
          prepare: task.prepare,
          onException: () => {
            handled++;
          },
        });
        const run = record(
          from(['a', 'b', 'c'].map(tx)).pipe(
            produce(memory, withHandler, {
              loop: { concurrency: { value: 3 } },
              transactionRuntime: { timeout: 100 },
            }),
          ),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['timeout', 'timeout', 'timeout']);
        expect(run.times).to.deep.equal([100, 100, 100]);
        expect(handled).to.equal(3);
        expect([...signals.values()].every((s) => s.aborted)).to.equal(true);
        expect(memory.dispatchCount).to.equal(0);
        expect(run.completedAt).to.equal(100);
      });
    });

    it('covers waiting for dispatch: transactions that time out while waiting are never dispatched', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(100);
        const run = record(
          from(['a', 'b', 'c'].map(tx)).pipe(
            produce(connector, upper().task, {
              ...policyOf(1, 0),
              transactionRuntime: { timeout: 50 },
            }),
          ),
        );
        scheduler.flush();
        // a is being sent at 0; b waits in the forming batch, c holds its prepare slot.
        const byId = new Map(run.values.map((o) => [o.transaction.id, o]));
        for (const id of ['b', 'c']) {
          const outcome = byId.get(id);
          if (outcome?.status !== 'timeout') return expect.fail(`${id}: expected timeout`);
          expect(outcome.error.stage).to.equal('dispatch');
        }
        expect(connector.calls.map((c) => c.ids.join(''))).to.deep.equal(['a']);
        expect(connector.memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
      });
    });

    it('a transaction that times out while its batch is forming is withdrawn (no onException)', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const run = record(
          cold('a 14ms bc|', inputs('abc')).pipe(
            produce(memory, upper().task, {
              ...policyOf(3, 100),
              transactionRuntime: { timeout: 10 },
            }),
          ),
        );
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${statusOf(o)}`)).to.deep.equal([
          'a:timeout',
          'b:success',
          'c:success',
        ]);
        expect(calls.map((c) => [c.at, c.ids.join('')])).to.deep.equal([[17, 'bc']]);
      });
    });

    it('a transaction that times out while its batch is forming is withdrawn, even while onException runs', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const task = producerTask({
          prepare: (t: Transaction<string>) => t.payload.toUpperCase(),
          onException: () => after(20, 'noted'),
        });
        const run = record(
          cold('a 14ms bc|', inputs('abc')).pipe(
            produce(memory, task, { ...policyOf(3, 100), transactionRuntime: { timeout: 10 } }),
          ),
        );
        scheduler.flush();
        const a = run.values.find((o) => o.transaction.id === 'a');
        expect(a === undefined ? 'none' : statusOf(a)).to.equal('timeout');
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['b', 'c']);
        expect(calls.map((c) => c.ids.join(''))).to.deep.equal(['bc']);
      });
    });

    it('covers onSuccess: a hanging onSuccess times out (stage success)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const task = producerTask({
          onSuccess: (): Observable<never> => NEVER,
        });
        const run = record(
          of(tx('a')).pipe(
            produce(memory, task, { ...policyOf(1, 0), transactionRuntime: { timeout: 30 } }),
          ),
        );
        scheduler.flush();
        const outcome = run.values[0];
        if (outcome?.status !== 'timeout') return expect.fail('expected timeout');
        expect(outcome.error.stage).to.equal('success');
        expect(run.times).to.deep.equal([30]);
      });
    });
  });

  describe('loop timeout, source errors and unsubscribe', () => {
    it('loop timeout 300 with a 10 s prepare → released (loopTimeout), then LoopTimeoutError (reference case 64)', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const { task, signals } = upper(() => 10_000);
        const run = record(
          from(['a', 'b', 'c'].map(tx)).pipe(produce(memory, task, { loop: { timeout: 300 } })),
        );
        scheduler.flush();
        expect(run.values.map((o) => `${o.transaction.id}:${statusOf(o)}`)).to.have.members([
          'a:released:loopTimeout',
          'b:released:loopTimeout',
          'c:released:loopTimeout',
        ]);
        expect(run.erroredAt).to.equal(300);
        expect(run.error).to.be.instanceOf(LoopTimeoutError);
        const signal = signals.get('a');
        expect(signal?.aborted).to.equal(true);
        expect(signal?.reason).to.be.instanceOf(CancellationError);
        expect((signal?.reason as CancellationError).reason).to.equal('loopTimeout');
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('the loop timeout releases prepared transactions waiting for dispatch; they are never dispatched', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new SlowConnector(1000);
        const run = record(
          from(letters(5).map(tx)).pipe(
            produce(
              connector,
              upper().task,
              policyOf(2, 1000, { loop: { timeout: 50, concurrency: { value: 1 } } }),
            ),
          ),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(Array(5).fill('released:loopTimeout'));
        expect(run.error).to.be.instanceOf(LoopTimeoutError);
        expect(connector.calls.map((c) => c.ids.join(''))).to.deep.equal(['ab']);
        expect(connector.memory.dispatched).to.deep.equal([]);
      });
    });

    it('a source error is forwarded after every transaction taken has its outcome', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const { memory } = loggingConnector();
        const source = cold('-a-b-#', inputs('ab'), boom);
        expectObservable(
          source.pipe(produce(memory, upper(() => 10).task, policyOf(2, 100)), ids),
        ).toBe('21ms (ab#)', undefined, boom);
      });
    });

    it('unsubscribing cancels: prepare signals abort, the source is unsubscribed, nothing is dispatched', () => {
      inVirtualTime(({ hot, expectSubscriptions }, scheduler) => {
        const { memory } = loggingConnector();
        const { task, signals } = upper((id) => (id === 'a' ? 1 : 50));
        const source = hot('-a-b----------', inputs('ab'));
        const run = record(
          source.pipe(
            produce(memory, task, policyOf(5, 100, { loop: { concurrency: { value: 2 } } })),
          ),
        );
        scheduler.schedule(() => run.subscription.unsubscribe(), 20);
        expectSubscriptions(source.subscriptions).toBe('^-------------------!');
        scheduler.flush();
        const signal = signals.get('b');
        expect(signal?.aborted).to.equal(true);
        expect((signal?.reason as CancellationError).reason).to.equal('unsubscribe');
        expect(run.values).to.deep.equal([]);
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('is cold: each subscription is its own run', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const pipeline = from(['a', 'b'].map(tx)).pipe(produce(memory, upper().task));
        expect(memory.dispatchCount).to.equal(0);
        record(pipeline);
        record(pipeline);
        scheduler.flush();
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b', 'a', 'b']);
      });
    });

    it('the source may throw synchronously in prepare-free mode without losing transactions already taken', () => {
      inVirtualTime((_h, scheduler) => {
        const { memory } = loggingConnector();
        const source = new Observable<Transaction<string>>((subscriber) => {
          subscriber.next(tx('a'));
          subscriber.error(boom);
        });
        const run = record(source.pipe(produce(memory, producerTask<string>())));
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['success']);
        expect(run.error).to.equal(boom);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a']);
      });
    });

    it('a source error with nothing taken is forwarded at once', () => {
      inVirtualTime(({ expectObservable }) => {
        const { memory } = loggingConnector();
        expectObservable(throwError(() => boom).pipe(produce(memory, producerTask<string>()))).toBe(
          '#',
          undefined,
          boom,
        );
      });
    });
  });

  describe('no timers left behind (fake timers)', () => {
    const timers = fakeTimersEachSpec();

    it('a completed run (loop timeout, runtime budget and maxWait armed on the way)', async () => {
      let completed = false;
      from(['a', 'b', 'c'].map(tx))
        .pipe(
          produce(
            new MemoryConnector<string>({ record: true, idPrefix: 'tx-' }),
            producerTask<string>(),
            {
              loop: { timeout: 120_000, batch: { size: 2, maxWait: 1_000 } },
              transactionRuntime: { timeout: 60_000 },
            },
          ),
        )
        .subscribe({ complete: () => (completed = true) });
      await timers.clock.tickAsync(0);
      expect(completed).to.equal(true);
      expect(timers.clock.countTimers()).to.equal(0);
    });

    it('a run unsubscribed while a batch waits to retry and another is forming', async () => {
      const memory = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        onDispatch: () => {
          throw boom;
        },
      });
      const source = new Observable<Transaction<string>>((subscriber) => {
        subscriber.next(tx('a'));
        subscriber.next(tx('b'));
        subscriber.next(tx('c'));
      });
      const subscription = source
        .pipe(
          produce(memory, producerTask<string>(), {
            loop: { timeout: 120_000, batch: { size: 2, maxWait: 1_000 } },
            dispatch: { retry: { maxAttempts: 3, backoff: 5_000 } },
          }),
        )
        .subscribe();
      await timers.clock.tickAsync(10);
      expect(memory.dispatchCount).to.equal(1);
      subscription.unsubscribe();
      await timers.clock.tickAsync(0);
      expect(timers.clock.countTimers()).to.equal(0);
    });
  });
});
