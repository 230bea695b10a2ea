import { expect } from 'chai';
import fc from 'fast-check';
import { EMPTY, map, Observable, range, timer } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  producerPolicy,
  PolicyError,
  processWith,
  rateLimit,
  TaskDefinitionError,
  type Transaction,
} from '../../lib/index.js';
import { after } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';

/** The most emissions in any half-open window [t, t + interval). */
function busiestWindow(times: readonly number[], interval: number): number {
  let most = 0;
  for (const start of times) {
    most = Math.max(most, times.filter((t) => t >= start && t < start + interval).length);
  }
  return most;
}

describe('rateLimit', () => {
  it('spaces values evenly at limit per interval, keeping their order and completing after the last', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      expectObservable(
        cold('(abcde)--------------|').pipe(rateLimit({ limit: 2, interval: 10 })),
      ).toBe('a----b----c----d----e|');
    });
  });

  it('lets a burst go at once after an idle spell, then the steady rate', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      expectObservable(
        cold('(abcdef|)').pipe(rateLimit({ limit: 2, interval: 10, burst: 2 })),
      ).toBe('(abc)d----e----(f|)');
    });
  });

  it('passes values through untouched while they come slower than the limit', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      expectObservable(cold('a-----b-----c|').pipe(rateLimit({ limit: 1, interval: 5 }))).toBe(
        'a-----b-----c|',
      );
    });
  });

  it('forwards an error at once', () => {
    inVirtualTime(({ cold, expectObservable }) => {
      expectObservable(
        cold('(abc)#', undefined, new Error('boom')).pipe(rateLimit({ limit: 1, interval: 10 })),
      ).toBe('a----#', undefined, new Error('boom'));
    });
  });

  it('rejects a bad limit with a PolicyError naming it', () => {
    expect(() => rateLimit({ limit: 0 })).to.throw(
      PolicyError,
      'limit: expected positive integer, got 0',
    );
    expect(() => rateLimit({ limit: 5, interval: '-1s' })).to.throw(PolicyError, 'interval');
  });

  it('no window of interval holds more than limit + burst, and a long run goes at the rate (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 60 }),
        (limit, interval, burst, gaps) => {
          const arrivals = gaps.reduce<number[]>(
            (all, gap) => [...all, (all.at(-1) ?? 0) + gap],
            [],
          );
          const shaped = inVirtualTime((_helpers, scheduler) => {
            const recording = record(
              fromArrivals(arrivals).pipe(rateLimit({ limit, interval, burst })),
            );
            scheduler.flush();
            return recording.times;
          });
          expect(shaped).to.have.length(arrivals.length);
          expect(busiestWindow(shaped, interval)).to.be.at.most(limit + burst);
          // Never before its arrival, in order.
          shaped.forEach((t, i) => expect(t).to.be.at.least(arrivals[i]!));
          expect([...shaped].sort((a, b) => a - b)).to.deep.equal(shaped);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Emits i at `arrivals[i]` (virtual time), then completes. */
function fromArrivals(arrivals: readonly number[]): Observable<number> {
  return new Observable<number>((subscriber) => {
    const subscriptions = arrivals.map((at, i) =>
      timer(at).subscribe(() => {
        subscriber.next(i);
        if (i === arrivals.length - 1) subscriber.complete();
      }),
    );
    return () => subscriptions.forEach((subscription) => subscription.unsubscribe());
  });
}

describe('rateLimit throughput', () => {
  it('a backlog drains at exactly the rate: the n-th value after the burst at (n − burst) × interval / limit (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 80 }),
        (limit, interval, burst, count) => {
          const times = inVirtualTime((_helpers, scheduler) => {
            const recording = record(range(0, count).pipe(rateLimit({ limit, interval, burst })));
            scheduler.flush();
            return recording.times;
          });
          times.forEach((at, n) => {
            const due = Math.max(0, Math.ceil(((n - burst) * interval) / limit));
            expect(at, `value ${n}`).to.equal(due);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('loop.rateLimit', () => {
  it('consume starts at most limit per interval and fetches no more than it can start within one', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new TestConnector<number>({
        source: Array.from({ length: 30 }, (_, i) => i),
      });
      const starts: number[] = [];
      const task = consumerTask({
        process: (tx: Transaction<number>) => {
          starts.push(now());
          return after(1, tx.payload);
        },
      });
      const outcomes = record(
        consume(connector, task, {
          loop: {
            mode: 'continuous',
            concurrency: { value: 20 },
            rateLimit: { limit: 5, interval: 100 },
          },
        }),
      );
      scheduler.flush();
      expect(outcomes.values).to.have.length(30);
      expect(busiestWindow(starts, 100)).to.be.at.most(5);
      // 30 at 5 per 100 ms: the last starts at 580 (one every 20 ms).
      expect(starts.at(-1)).to.equal(580);
      expect(Math.max(...connector.sizes)).to.be.at.most(5);
      expect(settledExactlyOnce(connector)).to.equal(null);
    });
  });

  it('keeps going with a limit of 1 and handlers that finish at once (the rate alone wakes the loop)', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new TestConnector<number>({ source: [1, 2, 3] });
      const starts: number[] = [];
      const task = consumerTask({
        process: (tx: Transaction<number>) => {
          starts.push(now());
          return tx.payload;
        },
      });
      const outcomes = record(
        consume(connector, task, {
          loop: {
            mode: 'continuous',
            concurrency: { value: 4 },
            streaming: true,
            limit: 3,
            rateLimit: { limit: 1, interval: 10 },
          },
        }),
      );
      scheduler.flush();
      expect(starts).to.deep.equal([0, 10, 20]);
      expect(outcomes.completedAt).to.equal(20);
    });
  });

  it('processWith starts at most limit per interval', () => {
    const starts: number[] = [];
    const task = consumerTask({
      process: (tx: Transaction<number>) => {
        starts.push(now());
        return after(0, tx.payload);
      },
    });
    inVirtualTime((_helpers, scheduler) => {
      record(
        range(0, 10).pipe(
          map((i) => createTransaction(i)),
          processWith(task, {
            loop: { concurrency: { value: 10 }, rateLimit: { limit: 2, interval: 10, burst: 1 } },
          }),
        ),
      );
      scheduler.flush();
    });
    expect(starts).to.deep.equal([0, 0, 5, 10, 15, 20, 25, 30, 35, 40]);
  });
});

describe('dispatch rateLimit', () => {
  it('sends at most limit + burst per interval, batches only as large as the permits due', () => {
    inVirtualTime((_helpers, scheduler) => {
      const memory = new MemoryConnector<number>();
      const sends: { at: number; size: number }[] = [];
      const connector = {
        fetch: () => EMPTY,
        dispatch: (batch: readonly Transaction<number>[]) => {
          sends.push({ at: now(), size: batch.length });
          return memory.dispatch(batch);
        },
      };
      const receipts = record(
        range(0, 12).pipe(
          map((i) => createTransaction(i)),
          dispatchTo(connector, {
            batch: 10,
            maxWait: 0,
            rateLimit: { limit: 4, interval: 20, burst: 3 },
          }),
        ),
      );
      scheduler.flush();
      expect(receipts.completedAt).to.be.a('number');
      expect(sends.reduce((sum, send) => sum + send.size, 0)).to.equal(12);
      // 4 at once (limit 4 / 20 ms is one per 5 ms, plus a burst of 3), then one per 5 ms.
      const times = sends.flatMap((send) => Array.from({ length: send.size }, () => send.at));
      expect(times).to.deep.equal([0, 0, 0, 0, 5, 10, 15, 20, 25, 30, 35, 40]);
      expect(busiestWindow(times, 20)).to.be.at.most(7);
    });
  });

  it('producerPolicy takes dispatch.rateLimit', () => {
    expect(
      producerPolicy({ dispatch: { rateLimit: { limit: 50 } } }).dispatch.rateLimit,
    ).to.deep.equal({ limit: 50, interval: 1000, burst: 0 });
  });
});

describe('loop.keyRateLimit', () => {
  it('starts at most limit per interval of each key; other keys and unkeyed ones go beside them', () => {
    inVirtualTime((_helpers, scheduler) => {
      const payloads = ['a1', 'a2', 'a3', 'b1', 'b2', 'n1', 'a4'];
      const connector = new TestConnector<string>({ source: payloads });
      const starts: string[] = [];
      const task = consumerTask({
        key: (tx: Transaction<string>) => (tx.payload.startsWith('n') ? undefined : tx.payload[0]),
        process: (tx: Transaction<string>) => {
          starts.push(`${tx.payload}@${now()}`);
          return after(1, tx.payload);
        },
      });
      const outcomes = record(
        consume(connector, task, {
          loop: {
            mode: 'continuous',
            concurrency: { value: 10 },
            keyConcurrency: { value: 5 },
            keyRateLimit: { limit: 1, interval: 100 },
          },
        }),
      );
      scheduler.flush();
      // One a and one b per 100 ms, in order; n1 has no key.
      expect(starts).to.deep.equal([
        'a1@0',
        'b1@0',
        'n1@0',
        'a2@100',
        'b2@100',
        'a3@200',
        'a4@300',
      ]);
      expect(outcomes.values).to.have.length(7);
      expect(settledExactlyOnce(connector)).to.equal(null);
    });
  });

  it('says so when the task has no key (the limit would do nothing)', () => {
    const task = consumerTask({
      name: 'unkeyed',
      process: (tx: Transaction<string>) => tx.payload,
    });
    const policy = { loop: { keyRateLimit: { limit: 1 } } };
    const expected =
      'loop.keyRateLimit limits each key, but task "unkeyed" has no key; give consumerTask a key function, or use loop.rateLimit to limit the whole loop';
    expect(() => consume(new TestConnector<string>(), task, policy)).to.throw(
      TaskDefinitionError,
      `consume: ${expected}`,
    );
    expect(() => processWith(task, policy)).to.throw(
      TaskDefinitionError,
      `processWith: ${expected}`,
    );
  });

  it('a graceful stop releases the transactions waiting for their key’s rate, in fetch order', () => {
    inVirtualTime((helpers, scheduler) => {
      const connector = new TestConnector<string>({ source: ['a1', 'a2', 'a3'] });
      const task = consumerTask({
        key: (tx: Transaction<string>) => tx.payload[0],
        process: (tx: Transaction<string>) => after(1, tx.payload),
      });
      const outcomes = record(
        consume(
          connector,
          task,
          {
            loop: {
              mode: 'continuous',
              concurrency: { value: 5 },
              keyConcurrency: { value: 5 },
              keyRateLimit: { limit: 1, interval: 100 },
            },
          },
          { stop$: helpers.cold('50ms s') },
        ),
      );
      scheduler.flush();
      expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
        'a1:success',
        'a2:released:shutdown',
        'a3:released:shutdown',
      ]);
      expect(outcomes.completedAt).to.equal(50);
      expect(settledExactlyOnce(connector)).to.equal(null);
    });
  });
});
