import { expect } from 'chai';
import { lastValueFrom, NEVER, Subject, timer, toArray } from 'rxjs';
import { consume, consumerTask, type ConsumerPolicyInput, type LoopMode } from '../../lib/index.js';
import { letters, timedTask } from './support/handlers.js';
import { settledExactlyOnce, TestConnector } from './support/test-connector.js';
import { inVirtualTime, record } from './support/virtual-time.js';

const modes: LoopMode[] = ['batch', 'continuous'];

function streaming(mode: LoopMode, policy: ConsumerPolicyInput = {}): ConsumerPolicyInput {
  return { ...policy, loop: { mode, streaming: true, ...policy.loop } };
}

describe('consume — streaming and empty fetches', () => {
  for (const mode of modes) {
    describe(`${mode} mode`, () => {
      it('a non-streaming loop completes at the first empty fetch without sleeping (reference case 49)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          const run = record(consume(connector, timedTask().task, { loop: { mode } }));
          scheduler.flush();
          expect(connector.fetchTimes).to.deep.equal([0]);
          expect(run.completedAt).to.equal(0);
        });
      });

      it('... also after work, once idle (reference case 49)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(3) });
          const run = record(
            consume(connector, timedTask(() => 10).task, {
              loop: { mode, concurrency: { value: 3 } },
            }),
          );
          scheduler.flush();
          expect(run.completedAt).to.equal(10);
          expect(connector.remaining()).to.equal(0);
        });
      });

      it('backs off 100, 200, 400 … between empty fetches, then resumes when work appears (reference case 46)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          scheduler.schedule(() => connector.memory.feed('a', 'b'), 350);
          const { task, starts } = timedTask();
          const run = record(
            consume(
              connector,
              task,
              streaming(mode, { loop: { limit: 2, concurrency: { value: 2 } } }),
            ),
          );
          scheduler.flush();
          expect(connector.fetchTimes).to.deep.equal([0, 100, 300, 700]);
          expect(starts).to.deep.equal(['a@700', 'b@700']);
          expect(run.values).to.have.length(2);
          expect(run.completedAt).to.equal(700);
        });
      });

      it('free slots keep polling with the empty backoff while a long transaction runs', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>({ source: ['long'] });
          scheduler.schedule(() => connector.memory.feed(...letters(6)), 3000);
          const { task, starts } = timedTask((payload) => (payload === 'long' ? 15_000 : 100));
          const run = record(
            consume(
              connector,
              task,
              streaming(mode, { loop: { limit: 7, concurrency: { value: 4 } } }),
            ),
          );
          scheduler.flush();
          if (mode === 'batch') {
            // The barrier: the next batch only after the whole batch (the long one) ended.
            expect(starts.slice(1)).to.have.length(6);
            expect(run.completedAt).to.be.at.least(15_000);
            return;
          }
          // Empty fetches at 0, 100, 300, 700, 1500 and 3100 (the backoff while one runs).
          expect(connector.fetchTimes.slice(0, 7)).to.deep.equal([0, 0, 100, 300, 700, 1500, 3100]);
          expect(starts).to.deep.equal([
            'long@0',
            'a@3100',
            'b@3100',
            'c@3100',
            'd@3200',
            'e@3200',
            'f@3200',
          ]);
          expect(
            run.values.map((outcome) => outcome.transaction.payload).slice(0, 6),
          ).to.deep.equal(letters(6));
          expect(run.completedAt).to.equal(15_000);
          expect(settledExactlyOnce(connector)).to.equal(null);
        });
      });

      it('never completes on its own while the queue stays empty; the default cap is 5 s', () => {
        inVirtualTime(({ expectObservable }, scheduler) => {
          const connector = new TestConnector<string>();
          const outcomes$ = consume(connector, timedTask().task, streaming(mode));
          expectObservable(outcomes$, '^ 20000ms !').toBe('');
          scheduler.flush();
          expect(connector.fetchTimes).to.deep.equal([
            0, 100, 300, 700, 1500, 3100, 6300, 11300, 16300,
          ]);
        });
      });

      it('the empty backoff follows fetch.empty (multiplier and exact cap)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          const run = record(
            consume(
              connector,
              timedTask().task,
              streaming(mode, {
                fetch: { empty: { backoff: 100, backoffMultiplier: 2, backoffCap: 250 } },
              }),
              { stop$: timer(900) },
            ),
          );
          scheduler.flush();
          expect(connector.fetchTimes).to.deep.equal([0, 100, 300, 550, 800]);
          expect(run.completedAt).to.equal(900);
        });
      });

      it('the empty backoff starts again from its first delay after a non-empty fetch (reference case 47)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          scheduler.schedule(() => connector.memory.feed('a'), 150);
          const run = record(
            consume(connector, timedTask().task, streaming(mode), { stop$: timer(650) }),
          );
          scheduler.flush();
          // 0 empty (wait 100), 100 empty (wait 200), 300 gets 'a', 300 empty (wait 100 again),
          // 400 empty (wait 200), 600 empty (wait 400), stop at 650.
          expect(connector.fetchTimes).to.deep.equal([0, 100, 300, 300, 400, 600]);
          expect(run.values).to.have.length(1);
          expect(run.completedAt).to.equal(650);
        });
      });

      it('streaming + limit 5: 3 items, 2 more arrive while they run → 5 outcomes, then completes (reference case 48)', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(3) });
          scheduler.schedule(() => connector.memory.feed('d', 'e'), 20);
          const run = record(
            consume(
              connector,
              timedTask(() => 50).task,
              streaming(mode, { loop: { limit: 5, concurrency: { value: 3 } } }),
            ),
          );
          scheduler.flush();
          expect(run.values.map((o) => o.transaction.payload)).to.deep.equal(letters(5));
          expect(run.completedAt).to.equal(100);
          expect(connector.sizes.reduce((a, b) => a + b, 0)).to.equal(5);
          expect(settledExactlyOnce(connector)).to.equal(null);
        });
      });

      it('a stop during the empty backoff completes at once', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          const run = record(
            consume(connector, timedTask().task, streaming(mode), { stop$: timer(150) }),
          );
          scheduler.flush();
          expect(connector.fetchTimes).to.deep.equal([0, 100]);
          expect(run.completedAt).to.equal(150);
        });
      });

      it('with fetch.empty.backoff 0 it still yields to the event loop, so it can be stopped (real time)', async () => {
        // A loop that re-fetches synchronously after each empty fetch never lets timers or
        // I/O run: stop$ could never fire. The test connector fails after 5000 fetches so a
        // spinning loop ends (with a FetchError) instead of hanging the suite.
        const connector = new TestConnector<string>({ maxFetches: 5000 });
        const stop$ = new Subject<void>();
        setTimeout(() => stop$.next(), 20);
        let outcome: string;
        try {
          await lastValueFrom(
            consume(
              connector,
              consumerTask({ process: () => 1 }),
              streaming(mode, { fetch: { empty: { backoff: 0 } } }),
              { stop$ },
            ).pipe(toArray()),
          );
          outcome = 'completed';
        } catch (error) {
          outcome = `errored: ${String(error)}`;
        }
        expect(outcome).to.equal('completed');
        expect(connector.calls.length).to.be.below(5000);
      });

      it('work found after empty fetches is processed with the normal concurrency', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector<string>();
          scheduler.schedule(() => connector.memory.feed(...letters(4)), 50);
          const { task, gauge } = timedTask(() => 10);
          const run = record(
            consume(
              connector,
              task,
              streaming(mode, { loop: { concurrency: { value: 2 }, limit: 4 } }),
            ),
          );
          scheduler.flush();
          expect(gauge.peak).to.equal(2);
          expect(run.values).to.have.length(4);
        });
      });
    });
  }

  it('a streaming loop with hung work never completes by itself; unsubscribing releases the work', () => {
    inVirtualTime(({ expectObservable }, scheduler) => {
      const connector = new TestConnector({ source: letters(1) });
      const task = consumerTask({ process: () => NEVER });
      expectObservable(
        consume(connector, task, {
          loop: { streaming: true },
          transactionRuntime: { timeout: null },
        }),
        '^ 1000ms !',
      ).toBe('');
      scheduler.flush();
      expect(connector.memory.counts.release).to.equal(1);
    });
  });
});
