import { expect } from 'chai';
import { from, lastValueFrom, map, NEVER, Observable, take, toArray } from 'rxjs';
import {
  consumerTask,
  createTransaction,
  processWith,
  type ConsumerPolicyInput,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { letters, timedTask } from './support/handlers.js';
import { statusOf } from './support/test-connector.js';
import { inVirtualTime, record } from './support/virtual-time.js';

const tx = (payload: string): Transaction<string> => createTransaction(payload, { id: payload });

/** Marble values: each letter maps to a transaction with that payload and id. */
const transactions = (...payloads: string[]): Record<string, Transaction<string>> =>
  Object.fromEntries(payloads.map((p) => [p, tx(p)]));

const concurrency = (value: number): ConsumerPolicyInput => ({ loop: { concurrency: { value } } });

const payloads = map((o: Outcome<string, string>) => o.transaction.payload);

describe('processWith', () => {
  it('runs at most loop.concurrency.value at once and emits each outcome as it finishes', () => {
    inVirtualTime(({ cold, expectObservable }, scheduler) => {
      const source = cold('(abcdef|)', transactions(...letters(6)));
      const { task, gauge } = timedTask(() => 10);
      expectObservable(source.pipe(processWith(task, concurrency(2)), payloads)).toBe(
        '10ms (ab) 6ms (cd) 6ms (ef|)',
      );
      scheduler.flush();
      expect(gauge.peak).to.equal(2);
    });
  });

  it('emits outcomes in completion order, not arrival order', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      const durations: Record<string, number> = { a: 30, b: 10 };
      const source = cold('(ab|)', transactions('a', 'b'));
      expectObservable(
        source.pipe(
          processWith(timedTask((p) => durations[p] ?? 0).task, concurrency(2)),
          payloads,
        ),
      ).toBe('10ms b 19ms (a|)');
    });
  });

  it('transactions beyond the concurrency wait and start as slots free', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, starts } = timedTask(() => 10);
      record(helpers.cold('(abc|)', transactions('a', 'b', 'c')).pipe(processWith(task)));
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0', 'b@10', 'c@20']);
    });
  });

  it('completes after the last outcome when the source completes first', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      const source = cold('-a|', transactions('a'));
      expectObservable(source.pipe(processWith(timedTask(() => 20).task), payloads)).toBe(
        '21ms (a|)',
      );
    });
  });

  it('an empty source completes at once', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      expectObservable(cold<Transaction<string>>('|').pipe(processWith(timedTask().task))).toBe(
        '|',
      );
    });
  });

  it('keeps the transaction object in its outcome', () => {
    const input = tx('a');
    let seen: Transaction<string> | undefined;
    from([input])
      .pipe(processWith(consumerTask({ process: (t: Transaction<string>) => t.payload })))
      .subscribe((o) => (seen = o.transaction));
    expect(seen).to.equal(input);
  });

  it('forwards a source error after what the source emitted has finished', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      const failure = new Error('source broke');
      const source = cold('-a-b-#', transactions('a', 'b'), failure);
      expectObservable(
        source.pipe(processWith(timedTask(() => 10).task, concurrency(2)), payloads),
      ).toBe('11ms a 1ms (b#)', undefined, failure);
    });
  });

  it('transactions still waiting when the source errors are processed before the error', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      const failure = new Error('source broke');
      const source = cold('(abc#)', transactions('a', 'b', 'c'), failure);
      expectObservable(source.pipe(processWith(timedTask(() => 10).task), payloads)).toBe(
        '10ms a 9ms b 9ms (c#)',
        undefined,
        failure,
      );
    });
  });

  it('a source error with nothing in flight errors at once', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      const failure = new Error('empty and broken');
      expectObservable(
        cold<Transaction<string>>('--#', {}, failure).pipe(processWith(timedTask().task)),
      ).toBe('--#', undefined, failure);
    });
  });

  it('unsubscribing cancels in-flight lifecycles (signals abort) and starts nothing new', () => {
    inVirtualTime(({ cold, expectObservable }, scheduler) => {
      const { task, starts, signals } = timedTask(() => Infinity);
      const source = cold('(abcd)', transactions('a', 'b', 'c', 'd'));
      expectObservable(source.pipe(processWith(task, concurrency(2))), '^ 9ms !').toBe('');
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0', 'b@0']);
      expect([...signals.values()].map((s) => s.aborted)).to.deep.equal([true, true]);
    });
  });

  it('unsubscribes from the source when its subscriber unsubscribes', () => {
    inVirtualTime(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|', transactions('a', 'b', 'c', 'd'));
      expectObservable(source.pipe(processWith(timedTask(() => 1).task)), '^----!').toBe('--a-b', {
        a: { status: 'success', transaction: tx('a'), result: 'a' },
        b: { status: 'success', transaction: tx('b'), result: 'b' },
      });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('a synchronous take(1) downstream stops processing: the rest of the source is not processed', async () => {
    let processed = 0;
    const task = consumerTask({
      process: (t: Transaction<number>) => {
        processed++;
        return t.payload;
      },
    });
    const source = from(Array.from({ length: 1000 }, (_, i) => createTransaction(i)));
    const outcomes = await lastValueFrom(
      source.pipe(processWith(task, concurrency(2)), take(1), toArray()),
    );
    expect(outcomes).to.have.length(1);
    expect(processed, 'transactions processed after the subscriber left').to.be.at.most(2);
  });

  it('a source that ignores unsubscription cannot push lifecycles after the teardown', () => {
    inVirtualTime((_h, scheduler) => {
      let emit: ((t: Transaction<string>) => void) | undefined;
      const rude = new Observable<Transaction<string>>((subscriber) => {
        emit = (t) => subscriber.next(t);
      });
      const { task, starts } = timedTask(() => 10);
      const run = record(rude.pipe(processWith(task)));
      emit?.(tx('a'));
      run.subscription.unsubscribe();
      emit?.(tx('b'));
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0']);
    });
  });

  describe('lifecycle semantics without a connector', () => {
    it('a failure without onException is a failed outcome and the stream goes on', () => {
      const task = consumerTask({
        process: (t: Transaction<string>) => {
          if (t.payload === 'bad') throw new Error('bad');
          return t.payload;
        },
      });
      const outcomes: string[] = [];
      let completed = false;
      from([tx('bad'), tx('good')])
        .pipe(processWith(task))
        .subscribe({
          next: (o) => outcomes.push(`${o.transaction.payload}:${statusOf(o)}`),
          complete: () => (completed = true),
        });
      expect(outcomes).to.deep.equal(['bad:failed', 'good:success']);
      expect(completed).to.equal(true);
    });

    it('the runtime budget and the stage retry policies apply', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        let attempts = 0;
        const task = consumerTask({
          process: (t: Transaction<string>) => {
            if (t.payload === 'slow') return NEVER;
            if (++attempts < 2) throw new Error('flaky');
            return t.payload;
          },
          onException: () => 'handled',
        });
        const source = cold('(fs|)', { f: tx('flaky'), s: tx('slow') });
        expectObservable(
          source.pipe(
            processWith(task, {
              loop: { concurrency: { value: 2 } },
              transactionRuntime: { timeout: 50 },
              process: { retry: { maxAttempts: 2, backoff: 5 } },
            }),
            map((o) => `${o.transaction.payload}:${statusOf(o)}`),
          ),
        ).toBe('5ms f 44ms (s|)', { f: 'flaky:success', s: 'slow:timeout' });
      });
    });

    it('decodes its policy eagerly', () => {
      expect(() => processWith(timedTask().task, { loop: { concurrency: { value: 0 } } })).to.throw(
        /concurrency/,
      );
    });
  });

  it('many sequential runs stay independent (the operator is reusable)', async () => {
    const operator = processWith(
      consumerTask({ process: (t: Transaction<string>) => t.payload.toUpperCase() }),
      concurrency(3),
    );
    const first = await lastValueFrom(from([tx('a'), tx('b')]).pipe(operator, toArray()));
    const second = await lastValueFrom(from([tx('c')]).pipe(operator, toArray()));
    expect(first.map((o) => (o.status === 'success' ? o.result : o.status))).to.deep.equal([
      'A',
      'B',
    ]);
    expect(second.map((o) => (o.status === 'success' ? o.result : o.status))).to.deep.equal(['C']);
  });
});
