import { expect } from 'chai';
import {
  BehaviorSubject,
  config,
  EMPTY,
  firstValueFrom,
  of,
  Subject,
  throwError,
  timer,
  type Observable,
} from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type ConsumerPolicyInput,
  type LoopMode,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { after, letters, timedTask } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, record } from './support/virtual-time.js';

const modes: LoopMode[] = ['batch', 'continuous'];

describe('graceful stop (stop$) and hard stop (unsubscribe)', () => {
  for (const mode of modes) {
    describe(`${mode} mode`, () => {
      const policy = (loop: ConsumerPolicyInput['loop'] = {}, extra: ConsumerPolicyInput = {}) => ({
        ...extra,
        loop: { mode, concurrency: { value: 2 }, ...loop },
      });

      it('stops fetching and lets the work in flight finish within the grace period', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(6) });
          const run = record(
            consume(connector, timedTask(() => 30).task, policy({ shutdownGrace: 100 }), {
              stop$: timer(10),
            }),
          );
          scheduler.flush();
          expect(run.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
            'a:success',
            'b:success',
          ]);
          expect(run.completedAt).to.equal(30);
          expect(connector.calls).to.have.length(1);
          expect(settledExactlyOnce(connector)).to.equal(null);
          expect(connector.remaining()).to.equal(4);
        });
      });

      it('cancels and releases what still runs when the grace period ends', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(6) });
          const { task, signals } = timedTask(() => 1000);
          const run = record(
            consume(connector, task, policy({ shutdownGrace: 100 }), { stop$: timer(10) }),
          );
          const abortedAt: number[] = [];
          scheduler.schedule(() => {
            for (const signal of signals.values()) {
              signal.addEventListener('abort', () => abortedAt.push(scheduler.now()));
            }
          }, 1);
          scheduler.flush();
          expect(run.values.map(statusOf)).to.deep.equal([
            'released:shutdown',
            'released:shutdown',
          ]);
          expect(run.times).to.deep.equal([110, 110]);
          expect(abortedAt).to.deep.equal([110, 110]);
          expect(run.completedAt).to.equal(110);
          expect(settledExactlyOnce(connector)).to.equal(null);
          expect(connector.memory.counts).to.deep.equal({ ack: 0, deadLetter: 0, release: 2 });
          expect(connector.remaining()).to.equal(6);
        });
      });

      it('mixes both: what finishes in the grace period is acked, the rest released', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(2) });
          const durations: Record<string, number> = { a: 50, b: 500 };
          const run = record(
            consume(
              connector,
              timedTask((p) => durations[p] ?? 0).task,
              policy({ shutdownGrace: 100 }),
              {
                stop$: timer(10),
              },
            ),
          );
          scheduler.flush();
          expect(run.values.map((o) => `${o.transaction.payload}:${statusOf(o)}@`)).to.deep.equal([
            'a:success@',
            'b:released:shutdown@',
          ]);
          expect(run.times).to.deep.equal([50, 110]);
          expect(connector.memory.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 1 });
        });
      });

      it('grace 0 releases the work in flight at the stop', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(2) });
          const run = record(
            consume(connector, timedTask(() => 1000).task, policy({ shutdownGrace: 0 }), {
              stop$: timer(10),
            }),
          );
          scheduler.flush();
          expect(run.times).to.deep.equal([10, 10]);
          expect(run.completedAt).to.equal(10);
        });
      });

      it('completes only after the last release has been settled', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(2), settleDelay: 25 });
          const run = record(
            consume(connector, timedTask(() => 1000).task, policy({ shutdownGrace: 0 }), {
              stop$: timer(10),
            }),
          );
          scheduler.flush();
          expect(run.completedAt).to.equal(35);
          expect(connector.unsettled).to.equal(0);
        });
      });

      it('a stop during a fetch cancels the fetch and completes at once', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(2), fetchDelay: 50 });
          const run = record(consume(connector, timedTask().task, policy(), { stop$: timer(10) }));
          scheduler.flush();
          expect(run.completedAt).to.equal(10);
          expect(connector.calls.map((c) => c.cancelled)).to.deep.equal([true]);
          expect(connector.delivered).to.deep.equal([]);
          expect(connector.remaining()).to.equal(2);
        });
      });

      it('stop$ emitting on subscription: nothing is fetched and the loop completes at once', () => {
        for (const stop$ of [
          of(true),
          new BehaviorSubject<void>(undefined),
        ] as Observable<unknown>[]) {
          inVirtualTime((_h, scheduler) => {
            const connector = new TestConnector({ source: letters(2) });
            const run = record(consume(connector, timedTask().task, policy(), { stop$ }));
            scheduler.flush();
            expect(connector.calls).to.deep.equal([]);
            expect(run.values).to.deep.equal([]);
            expect(run.completedAt).to.equal(0);
          });
        }
      });

      it('a stop$ that completes without a value does not stop the loop', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({ source: letters(4) });
          const run = record(
            consume(connector, timedTask(() => 10).task, policy(), { stop$: EMPTY }),
          );
          scheduler.flush();
          expect(run.values).to.have.length(4);
        });
      });

      it('a second stop value changes nothing', () => {
        inVirtualTime(({ cold }, scheduler) => {
          const connector = new TestConnector({ source: letters(4) });
          const run = record(
            consume(connector, timedTask(() => 30).task, policy({ shutdownGrace: 100 }), {
              stop$: cold('10ms a 9ms b'),
            }),
          );
          scheduler.flush();
          expect(run.values.map(statusOf)).to.deep.equal(['success', 'success']);
          expect(run.completedAt).to.equal(30);
        });
      });

      it('a stop$ that errors is not reported as an unhandled error', () => {
        const unhandled: unknown[] = [];
        const previous = config.onUnhandledError;
        config.onUnhandledError = (error) => unhandled.push(error);
        try {
          inVirtualTime((_h, scheduler) => {
            const connector = new TestConnector({ source: letters(2) });
            const run = record(
              consume(connector, timedTask(() => 10).task, policy(), {
                stop$: throwError(() => new Error('signal source broke')),
              }),
            );
            scheduler.flush();
            expect(run.completedAt !== null || run.erroredAt !== null).to.equal(true);
            expect(settledExactlyOnce(connector)).to.equal(null);
          });
        } finally {
          config.onUnhandledError = previous;
        }
        expect(unhandled).to.deep.equal([]);
      });

      describe('stop$ firing synchronously inside the run (re-entrancy)', () => {
        type Where = 'process' | 'onSuccess' | 'onException' | 'settle' | 'subscriber';
        const places: Where[] = ['process', 'onSuccess', 'onException', 'settle', 'subscriber'];
        for (const where of places) {
          it(`inside ${where}: the loop stops cleanly and settles everything exactly once`, () => {
            const stop$ = new Subject<void>();
            const fire = (tx: Transaction<string>, at: Where) => {
              if (at === where && tx.payload === 'a') stop$.next();
            };
            const connector = new TestConnector({ source: letters(8) });
            connector.onSettled = (call) => fire(call.transaction, 'settle');
            const task = consumerTask({
              process: (tx: Transaction<string>) => {
                fire(tx, 'process');
                if (where === 'onException') throw new Error('route to onException');
                return tx.payload;
              },
              onSuccess: (tx) => fire(tx, 'onSuccess'),
              onException: (tx) => fire(tx, 'onException'),
            });
            const outcomes: Outcome<string, string>[] = [];
            let done: string | null = null;
            inVirtualTime((_h, scheduler) => {
              consume(connector, task, policy({}, { fetch: { batch: { size: 4 } } }), {
                stop$,
              }).subscribe({
                next: (outcome) => {
                  outcomes.push(outcome);
                  fire(outcome.transaction, 'subscriber');
                },
                error: (error: unknown) => (done = `error ${String(error)}`),
                complete: () => (done = 'complete'),
              });
              scheduler.flush();
            });
            expect(done).to.equal('complete');
            expect(settledExactlyOnce(connector)).to.equal(null);
            expect(outcomes).to.have.length(connector.delivered.length);
            expect(new Set(outcomes.map((o) => o.transaction)).size).to.equal(outcomes.length);
            const first = outcomes.find((o) => o.transaction.payload === 'a');
            expect(first && statusOf(first)).to.equal(
              where === 'onException' ? 'exception' : 'success',
            );
            // Nothing is fetched after the stop: one fetch's worth at most.
            expect(connector.calls).to.have.length(1);
            expect(connector.delivered.length).to.be.at.most(4);
          });
        }
      });

      describe('hard stop (unsubscribe)', () => {
        it('cancels the work in flight (signals abort), releases it and what waits, emits nothing more', () => {
          inVirtualTime((_h, scheduler) => {
            const connector = new TestConnector({
              source: letters(6),
              overReturn: mode === 'continuous' ? 2 : 1,
            });
            const { task, signals } = timedTask((p) => (p === 'a' ? 5 : Infinity));
            const run = record(
              consume(connector, task, policy({}, { fetch: { batch: { size: 4 } } })),
            );
            scheduler.schedule(() => run.subscription.unsubscribe(), 20);
            scheduler.flush();
            expect(run.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
              'a:success',
            ]);
            expect(run.completedAt).to.equal(null);
            expect(signals.get('b')?.aborted).to.equal(true);
            expect(signals.get('a')?.aborted).to.equal(false);
            expect(connector.memory.settlements.slice(1).map((s) => s.decision)).to.deep.equal(
              Array(connector.delivered.length - 1).fill({
                type: 'release',
                reason: 'unsubscribe',
              }),
            );
            expect(settledExactlyOnce(connector)).to.equal(null);
            expect(connector.remaining()).to.equal(5);
          });
        });

        it('during the grace period, releases the rest with reason unsubscribe', () => {
          inVirtualTime((_h, scheduler) => {
            const connector = new TestConnector({ source: letters(2) });
            const run = record(
              consume(connector, timedTask(() => 1000).task, policy({ shutdownGrace: 100 }), {
                stop$: timer(10),
              }),
            );
            scheduler.schedule(() => run.subscription.unsubscribe(), 50);
            scheduler.flush();
            expect(connector.memory.settlements.map((s) => s.decision)).to.deep.equal([
              { type: 'release', reason: 'unsubscribe' },
              { type: 'release', reason: 'unsubscribe' },
            ]);
            expect(connector.settles.map((s) => s.at)).to.deep.equal([50, 50]);
          });
        });

        it('unsubscribing synchronously from the first outcome (firstValueFrom) stops the loop there', async () => {
          let processed = 0;
          const memory = new MemoryConnector<number>({
            record: true,
            idPrefix: 'tx-',
            source: Array.from({ length: 1000 }, (_, i) => i),
          });
          const task = consumerTask({
            process: (tx: Transaction<number>) => {
              processed++;
              return tx.payload;
            },
          });
          const first = await firstValueFrom(
            consume(memory, task, { loop: { mode, concurrency: { value: 2 } } }),
          );
          expect(first.status).to.equal('success');
          expect(processed, 'transactions processed after the subscriber left').to.be.at.most(2);
          expect(memory.fetchCount).to.equal(1);
          expect(memory.unsettled).to.equal(0);
          expect(memory.counts.ack + memory.counts.release).to.be.at.most(2);
        });
      });

      it('waiting (fetched, not started) transactions are released at the stop', () => {
        inVirtualTime((_h, scheduler) => {
          const connector = new TestConnector({
            source: letters(8),
            overReturn: mode === 'continuous' ? 3 : 1,
          });
          const run = record(
            consume(
              connector,
              timedTask(() => 30).task,
              policy({ shutdownGrace: 100 }, { fetch: { batch: { size: 6 } } }),
              { stop$: timer(10) },
            ),
          );
          scheduler.flush();
          const waiting = connector.delivered.length - 2;
          expect(waiting).to.be.greaterThan(0);
          expect(run.values.map(statusOf)).to.deep.equal([
            ...Array<string>(waiting).fill('released:shutdown'),
            'success',
            'success',
          ]);
          expect(run.times.slice(0, waiting)).to.deep.equal(Array(waiting).fill(10));
          expect(settledExactlyOnce(connector)).to.equal(null);
        });
      });
    });
  }

  it('a stop during the batch interval completes at once', () => {
    inVirtualTime((_h, scheduler) => {
      const connector = new TestConnector({ source: letters(4) });
      const run = record(
        consume(
          connector,
          timedTask().task,
          { fetch: { batch: { size: 2, interval: 500 } }, loop: { concurrency: { value: 2 } } },
          { stop$: timer(100) },
        ),
      );
      scheduler.flush();
      expect(connector.fetchTimes).to.deep.equal([0]);
      expect(run.completedAt).to.equal(100);
    });
  });

  it('the stop signal does not cut onException short: a transaction being handled finishes', () => {
    inVirtualTime((_h, scheduler) => {
      const connector = new TestConnector({ source: letters(1) });
      const task = consumerTask({
        process: () => {
          throw new Error('x');
        },
        onException: () => after(50, 'handled'),
      });
      const run = record(
        consume(connector, task, { loop: { shutdownGrace: 100 } }, { stop$: timer(10) }),
      );
      scheduler.flush();
      expect(run.values.map(statusOf)).to.deep.equal(['exception']);
      expect(run.times).to.deep.equal([50]);
    });
  });
});
