import { expect } from 'chai';
import { lastValueFrom, map, timer, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  FetchError,
  LoopTimeoutError,
  type ConsumerPolicyInput,
  type LoopMode,
} from '../../lib/index.js';
import { letters, timedTask } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, record } from './support/virtual-time.js';

const continuous = (policy: ConsumerPolicyInput = {}): ConsumerPolicyInput => ({
  ...policy,
  loop: { mode: 'continuous', ...policy.loop },
});

describe('consume — continuous mode', () => {
  describe('refilling free slots', () => {
    it('refills exactly the free slots while slow work is in flight (reference cases 51 and 53)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(4) });
        const durations: Record<string, number> = { a: 100, b: 10, c: 10, d: 10 };
        const outcomes$ = consume(
          connector,
          timedTask((p) => durations[p] ?? 0).task,
          continuous({ loop: { concurrency: { value: 2 } } }),
        ).pipe(map((o) => o.transaction.payload));
        expectObservable(outcomes$).toBe('10ms b 9ms c 9ms d 69ms (a|)');
        scheduler.flush();
        expect(connector.calls.map((c) => `${c.size}@${c.at}`)).to.deep.equal([
          '2@0',
          '1@10',
          '1@20',
          '1@30',
          '2@100',
        ]);
      });
    });

    it('9 items, concurrency 3 → peak in flight exactly 3, 9 outcomes (reference case 52)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(9) });
        const { task, gauge } = timedTask((p) => 10 + (p.charCodeAt(0) % 4));
        const run = record(
          consume(connector, task, continuous({ loop: { concurrency: { value: 3 } } })),
        );
        scheduler.flush();
        expect(gauge.peak).to.equal(3);
        expect(run.values).to.have.length(9);
        expect(settledExactlyOnce(connector)).to.equal(null);
      });
    });

    it('does not wait for a batch barrier: a free slot is refilled while others still run', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(3) });
        const durations: Record<string, number> = { a: 100, b: 10, c: 10 };
        const { task, starts } = timedTask((p) => durations[p] ?? 0);
        record(consume(connector, task, continuous({ loop: { concurrency: { value: 2 } } })));
        scheduler.flush();
        expect(starts).to.deep.equal(['a@0', 'b@0', 'c@10']);
      });
    });

    it('ignores fetch.batch.size: asks for the free slots', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(3) });
        record(
          consume(
            connector,
            timedTask(() => 10).task,
            continuous({ loop: { concurrency: { value: 3 } }, fetch: { batch: { size: 1 } } }),
          ),
        );
        scheduler.flush();
        expect(connector.sizes[0]).to.equal(3);
      });
    });

    it('a slot stays taken until the settlement finished', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(3), settleDelay: 10 });
        const run = record(consume(connector, timedTask().task, continuous()));
        scheduler.flush();
        expect(connector.fetchTimes).to.deep.equal([0, 10, 20, 30]);
        expect(run.times).to.deep.equal([10, 20, 30]);
        expect(run.completedAt).to.equal(30);
      });
    });

    it('non-streaming drains the source and the work in flight: 7 items, concurrency 3 (reference case 54)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(7) });
        const run = record(
          consume(
            connector,
            timedTask((p) => 5 * (p.charCodeAt(0) - 96)).task,
            continuous({ loop: { concurrency: { value: 3 } } }),
          ),
        );
        scheduler.flush();
        expect(run.values).to.have.length(7);
        expect(connector.remaining()).to.equal(0);
        expect(run.completedAt).to.equal(Math.max(...run.times));
        expect(connector.calls.at(-1)?.returned).to.equal(0);
      });
    });
    it('refills in chunks of an eighth of the slots while real timers complete one by one', async () => {
      // 64 handlers started together wait 5 ms on timers that fire in one timers phase, one
      // callback (and one promise reaction) each: the loop neither fetches once per completion
      // nor leaves slots free until the phase ends, but fetches each time 8 slots are free.
      const connector = new TestConnector({ source: Array.from({ length: 640 }, (_v, n) => n) });
      const task = consumerTask<number>({
        process: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
      });
      const outcomes = await lastValueFrom(
        consume(connector, task, continuous({ loop: { concurrency: { value: 64 } } })).pipe(
          toArray(),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'success')).to.have.length(640);
      const sizes = connector.calls.filter((call) => call.returned > 0).map((call) => call.size);
      expect(sizes[0]).to.equal(64);
      expect(sizes.length, `fetch sizes ${sizes.join(' ')}`).to.be.within(40, 160);
    });
  });

  describe('limit', () => {
    it('each fetch asks for the free slots bounded by what remains; 15 of 20 stay (reference cases 53 and 57)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(20) });
        const durations: Record<string, number> = { a: 10, b: 20, c: 30, d: 40, e: 50 };
        const run = record(
          consume(
            connector,
            timedTask((p) => durations[p] ?? 0).task,
            continuous({ loop: { concurrency: { value: 3 }, limit: 5 } }),
          ),
        );
        scheduler.flush();
        expect(connector.calls.map((c) => `${c.size}@${c.at}`)).to.deep.equal([
          '3@0',
          '1@10',
          '1@20',
        ]);
        expect(run.values.map((o) => o.transaction.payload)).to.deep.equal([
          'a',
          'b',
          'c',
          'd',
          'e',
        ]);
        expect(connector.remaining()).to.equal(15);
        expect(run.completedAt).to.equal(70);
      });
    });

    it('a limit below the concurrency asks only for the limit', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(20) });
        record(
          consume(
            connector,
            timedTask().task,
            continuous({ loop: { concurrency: { value: 8 }, limit: 3 } }),
          ),
        );
        scheduler.flush();
        expect(connector.sizes).to.deep.equal([3]);
        expect(connector.remaining()).to.equal(17);
      });
    });
  });

  describe('empty fetches', () => {
    it('empty source, two backoffs, then 2 items arrive; limit 2 → 2 outcomes after exactly 2 backoffs (reference case 55)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector<string>();
        scheduler.schedule(() => connector.memory.feed('a', 'b'), 250);
        const run = record(
          consume(
            connector,
            timedTask().task,
            continuous({ loop: { streaming: true, limit: 2, concurrency: { value: 2 } } }),
          ),
        );
        scheduler.flush();
        expect(connector.fetchTimes).to.deep.equal([0, 100, 300]);
        expect(run.values).to.have.length(2);
        expect(run.completedAt).to.equal(300);
      });
    });

    it('an empty fetch while work is in flight polls again after the empty backoff, and at a completion (reference case 58)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(1) });
        const run = record(
          consume(
            connector,
            timedTask(() => 1000).task,
            continuous({ loop: { streaming: true, concurrency: { value: 2 } } }),
            { stop$: timer(1150) },
          ),
        );
        scheduler.flush();
        // 0: asks for 2, gets 'a'; asks for the free slot, gets nothing → polls for it with
        // the empty backoff (100, 200, 400 …); 'a' completing at 1000 frees a slot, which
        // fetches at once instead of waiting out the backoff.
        expect(connector.fetchTimes).to.deep.equal([0, 0, 100, 300, 700, 1000]);
        expect(run.completedAt).to.equal(1150);
      });
    });
  });

  describe('failures and cancellation', () => {
    it('a fetch failure with 2 in flight lets both complete, then errors with FetchError (reference case 56)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({
          source: letters(2),
          failFetch: (call) => (call === 2 ? new Error('broker down') : undefined),
        });
        const run = record(
          consume(
            connector,
            timedTask(() => 50).task,
            continuous({ loop: { concurrency: { value: 3 } } }),
          ),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['success', 'success']);
        expect(run.times).to.deep.equal([50, 50]);
        expect(run.erroredAt).to.equal(50);
        expect(run.error).to.be.instanceOf(FetchError);
        expect(connector.calls).to.have.length(2);
        expect(settledExactlyOnce(connector)).to.equal(null);
      });
    });

    it('unsubscribing cancels every lifecycle in flight: signals abort, all released, nothing emitted (reference case 59)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(5) });
        const { task, signals } = timedTask(() => Infinity);
        const outcomes$ = consume(
          connector,
          task,
          continuous({ loop: { concurrency: { value: 3 } } }),
        );
        expectObservable(outcomes$, '^ 49ms !').toBe('');
        const abortedAt: number[] = [];
        scheduler.schedule(() => {
          for (const signal of signals.values()) {
            signal.addEventListener('abort', () => abortedAt.push(scheduler.now()));
          }
        }, 1);
        scheduler.flush();
        expect(abortedAt).to.deep.equal([50, 50, 50]);
        expect(connector.memory.settlements.map((s) => s.decision)).to.deep.equal(
          Array(3).fill({ type: 'release', reason: 'unsubscribe' }),
        );
        expect(settledExactlyOnce(connector)).to.equal(null);
        expect(connector.remaining()).to.equal(5);
      });
    });

    it('a release whose settle is slow still finishes after the unsubscribe (reference case 59)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(2), settleDelay: 30 });
        const outcomes$ = consume(
          connector,
          timedTask(() => Infinity).task,
          continuous({ loop: { concurrency: { value: 2 } } }),
        );
        expectObservable(outcomes$, '^ 9ms !').toBe('');
        scheduler.flush();
        expect(connector.settles.map((s) => [s.at, s.finishedAt])).to.deep.equal([
          [10, 40],
          [10, 40],
        ]);
        expect(connector.unsettled).to.equal(0);
      });
    });

    it('unsubscribing cancels a fetch in progress (reference case 59)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(2), fetchDelay: 100 });
        expectObservable(consume(connector, timedTask().task, continuous()), '^ 9ms !').toBe('');
        scheduler.flush();
        expect(connector.calls.map((c) => c.cancelled)).to.deep.equal([true]);
        expect(connector.delivered).to.deep.equal([]);
      });
    });

    it('a loop timeout releases the work in flight and errors', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(5) });
        const run = record(
          consume(
            connector,
            timedTask(() => Infinity).task,
            continuous({ loop: { concurrency: { value: 2 }, timeout: 200 } }),
          ),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal([
          'released:loopTimeout',
          'released:loopTimeout',
        ]);
        expect(run.error).to.be.instanceOf(LoopTimeoutError);
        expect(run.erroredAt).to.equal(200);
        expect(settledExactlyOnce(connector)).to.equal(null);
      });
    });
  });

  describe('connectors that return more than asked (reference case 60)', () => {
    for (const mode of ['continuous', 'batch'] as LoopMode[]) {
      it(`${mode}: in-flight work never exceeds the concurrency, and nothing is lost`, () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(20), overReturn: 3 });
          const { task, gauge } = timedTask((p) => 5 + (p.charCodeAt(1 % p.length) % 7));
          const run = record(
            consume(connector, task, { loop: { mode, concurrency: { value: 2 } } }),
          );
          scheduler.flush();
          expect(gauge.peak).to.equal(2);
          expect(run.values.map(statusOf)).to.deep.equal(Array(20).fill('success'));
          expect(connector.sizes.every((size) => size >= 1)).to.equal(true);
          expect(settledExactlyOnce(connector)).to.equal(null);
          expect(run.completedAt).to.not.equal(null);
        });
      });

      it(`${mode}: with a limit, the surplus is released as overLimit, never processed`, () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(20), overReturn: 3 });
          const { task, starts } = timedTask(() => 10);
          const run = record(
            consume(connector, task, {
              loop: { mode, concurrency: { value: 2 }, limit: 3 },
            }),
          );
          scheduler.flush();
          const statuses = run.values.map(statusOf).sort();
          expect(starts).to.have.length(3);
          expect(statuses.filter((s) => s === 'success')).to.have.length(3);
          expect(statuses.filter((s) => s !== 'success')).to.deep.equal(
            Array(statuses.length - 3).fill('released:overLimit'),
          );
          expect(run.values).to.have.length(connector.delivered.length);
          expect(settledExactlyOnce(connector)).to.equal(null);
          expect(connector.memory.counts.ack).to.equal(3);
          expect(connector.remaining()).to.equal(17);
        });
      });
    }
  });
});
