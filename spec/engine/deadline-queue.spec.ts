import { expect } from 'chai';
import fc from 'fast-check';
import { map, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { consume, consumerTask, MemoryConnector } from '../../lib/index.js';
import {
  DeadlineQueue,
  EngineClock,
  type Deadline,
} from '../../lib/engine/internal/engine-clock.js';

type Op =
  | { readonly at: number; readonly kind: 'add'; readonly chain: boolean }
  | { readonly at: number; readonly kind: 'cancel'; readonly target: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    at: fc.integer({ min: 0, max: 60 }),
    kind: fc.constant('add' as const),
    chain: fc.boolean(),
  }),
  fc.record({
    at: fc.integer({ min: 0, max: 60 }),
    kind: fc.constant('cancel' as const),
    target: fc.nat(40),
  }),
);

describe('DeadlineQueue', () => {
  it('expires each live deadline exactly once, at its time; cancelled ones never', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.integer({ min: 1, max: 25 }),
        (ops, duration) => {
          const scheduler = new TestScheduler(() => undefined);
          const queue = new DeadlineQueue(scheduler, duration);
          const deadlines: {
            handle: Deadline;
            addedAt: number;
            firedAt: number[];
            cancelledAt: number | null;
          }[] = [];
          const add = (chain: boolean): void => {
            const entry = {
              handle: undefined as unknown as Deadline,
              addedAt: scheduler.now(),
              firedAt: [] as number[],
              cancelledAt: null as number | null,
            };
            entry.handle = queue.add({
              expire: () => {
                entry.firedAt.push(scheduler.now());
                if (chain) add(false);
              },
            });
            deadlines.push(entry);
          };
          for (const o of ops) {
            scheduler.schedule(() => {
              if (o.kind === 'add') {
                add(o.chain);
              } else {
                const entry = deadlines[o.target];
                if (
                  entry !== undefined &&
                  entry.cancelledAt === null &&
                  entry.firedAt.length === 0
                ) {
                  entry.cancelledAt = scheduler.now();
                  entry.handle.cancel();
                }
              }
            }, o.at);
          }
          scheduler.flush();
          for (const entry of deadlines) {
            const due = entry.addedAt + duration;
            if (entry.cancelledAt === null) {
              expect(entry.firedAt, `deadline added at ${entry.addedAt}`).to.deep.equal([due]);
            } else if (entry.cancelledAt < due) {
              expect(entry.firedAt, `cancelled at ${entry.cancelledAt}`).to.deep.equal([]);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cancel is idempotent and a cancelled deadline does not hold up later ones', () => {
    const scheduler = new TestScheduler(() => undefined);
    const queue = new DeadlineQueue(scheduler, 10);
    const fired: string[] = [];
    const first = queue.add({ expire: () => fired.push(`first@${scheduler.now()}`) });
    scheduler.schedule(
      () => queue.add({ expire: () => fired.push(`second@${scheduler.now()}`) }),
      3,
    );
    first.cancel();
    first.cancel();
    scheduler.flush();
    expect(fired).to.deep.equal(['second@13']);
  });

  it('dispose cancels every pending deadline', () => {
    const scheduler = new TestScheduler(() => undefined);
    const queue = new DeadlineQueue(scheduler, 10);
    const fired: number[] = [];
    queue.add({ expire: () => fired.push(1) });
    scheduler.schedule(() => queue.add({ expire: () => fired.push(2) }), 5);
    scheduler.schedule(() => queue.dispose(), 7);
    scheduler.flush();
    expect(fired).to.deep.equal([]);
  });

  it('a deadline cancelled from inside another expiry does not fire', () => {
    const scheduler = new TestScheduler(() => undefined);
    const queue = new DeadlineQueue(scheduler, 10);
    const fired: string[] = [];
    const later: Deadline[] = [];
    queue.add({
      expire: () => {
        fired.push('first');
        for (const deadline of later) deadline.cancel();
      },
    });
    later.push(queue.add({ expire: () => fired.push('second') }));
    scheduler.flush();
    expect(fired).to.deep.equal(['first']);
  });

  it('a later deadline still fires when the armed action was for a cancelled earlier one', () => {
    const scheduler = new TestScheduler(() => undefined);
    const queue = new DeadlineQueue(scheduler, 10);
    const fired: number[] = [];
    const early = queue.add({ expire: () => fired.push(-1) });
    scheduler.schedule(() => {
      early.cancel();
      queue.add({ expire: () => fired.push(scheduler.now()) });
    }, 4);
    scheduler.flush();
    expect(fired).to.deep.equal([14]);
  });

  /**
   * `count` deadlines of 30 added at time 0, each recording `n@time` when it fires; `cancel`
   * runs at time 5 with all of them.
   */
  function expiriesAfter(count: number, cancel: (deadlines: Deadline[]) => void): string[] {
    const scheduler = new TestScheduler(() => undefined);
    const queue = new DeadlineQueue(scheduler, 30);
    const fired: string[] = [];
    const deadlines = Array.from({ length: count }, (_value, n) =>
      queue.add({ expire: () => fired.push(`${n}@${scheduler.now()}`) }),
    );
    scheduler.schedule(() => cancel(deadlines), 5);
    scheduler.flush();
    return fired;
  }

  it('a deadline still fires after the cancelled front of a long queue was dropped', () => {
    const fired = expiriesAfter(1100, (deadlines) => {
      for (const deadline of deadlines.slice(0, 1024)) deadline.cancel();
    });
    expect(fired).to.deep.equal(Array.from({ length: 76 }, (_value, i) => `${1024 + i}@30`));
  });

  it('deadlines still fire after the holes cancelled behind a live one were compacted', () => {
    const fired = expiriesAfter(300, (deadlines) => {
      for (let n = 299; n >= 0; n--) if (n % 50 !== 0) deadlines[n]?.cancel();
    });
    expect(fired).to.deep.equal([0, 50, 100, 150, 200, 250].map((n) => `${n}@30`));
  });
});

/**
 * A scheduler whose clock the spec moves by hand: `elapse` moves it without running anything
 * (time spent inside a synchronous pass), `advance` runs every action due on the way, each at
 * its exact time (a timer that is never late, so any lateness measured is the clock's own).
 */
class HandClock implements SchedulerLike {
  private time = 0;
  private actions: { at: number; work: () => void; subscription: Subscription }[] = [];
  /** The spans of time `advance` ran (from, until), in order. */
  private readonly advances: [number, number][] = [];

  now(): number {
    return this.time;
  }

  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    const subscription = new Subscription();
    const action = {
      at: this.time + delay,
      work: () => work.call(undefined as unknown as SchedulerAction<T>, state),
      subscription,
    };
    subscription.add(() => {
      this.actions = this.actions.filter((other) => other !== action);
    });
    this.actions.push(action);
    return subscription;
  }

  elapse(ms: number): void {
    this.time += ms;
  }

  /**
   * The earliest time at or after `due` when actions could run (within an `advance`), that is
   * when a timer due then runs.
   */
  runnableAt(due: number): number | undefined {
    const spans = this.advances.filter(([, until]) => until >= due);
    return spans.length === 0 ? undefined : Math.max(spans[0]?.[0] ?? due, due);
  }

  advance(ms: number): void {
    const until = this.time + ms;
    this.advances.push([this.time, until]);
    for (;;) {
      const due = this.actions
        .filter((action) => action.at <= until)
        .sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = Math.max(this.time, due.at);
      due.subscription.unsubscribe();
      due.work();
    }
    this.time = until;
  }
}

type PassStep =
  | { readonly kind: 'pass'; readonly gaps: readonly number[] }
  | { readonly kind: 'cancel'; readonly target: number }
  | { readonly kind: 'idle'; readonly ms: number };

const passStep: fc.Arbitrary<PassStep> = fc.oneof(
  fc.record({
    kind: fc.constant('pass' as const),
    // Time spent after each registration of the pass (0: virtual time, nothing elapses).
    gaps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({ kind: fc.constant('cancel' as const), target: fc.nat(30) }),
  fc.record({ kind: fc.constant('idle' as const), ms: fc.integer({ min: 0, max: 15 }) }),
);

describe('EngineClock passes (deadlines stamped once per pass)', () => {
  it('a deadline registered in a pass fires once, never before its duration from its registration, and at the end of its pass plus the duration', () => {
    fc.assert(
      fc.property(
        fc.array(passStep, { maxLength: 30 }),
        fc.integer({ min: 1, max: 20 }),
        (steps, duration) => {
          const scheduler = new HandClock();
          const clock = new EngineClock(scheduler);
          const deadlines: {
            handle: Deadline;
            registeredAt: number;
            passEnd: number;
            fired: number[];
            cancelled: boolean;
          }[] = [];
          for (const step of steps) {
            if (step.kind === 'pass') {
              const added: typeof deadlines = [];
              clock.beginPass();
              for (const gap of step.gaps) {
                const entry = {
                  handle: undefined as unknown as Deadline,
                  registeredAt: scheduler.now(),
                  passEnd: 0,
                  fired: [] as number[],
                  cancelled: false,
                };
                entry.handle = clock.deadline(duration, {
                  expire: () => entry.fired.push(scheduler.now()),
                });
                added.push(entry);
                scheduler.elapse(gap);
              }
              clock.endPass();
              for (const entry of added) entry.passEnd = scheduler.now();
              deadlines.push(...added);
            } else if (step.kind === 'cancel') {
              const entry = deadlines[step.target];
              if (entry !== undefined && entry.fired.length === 0 && !entry.cancelled) {
                entry.cancelled = true;
                entry.handle.cancel();
              }
            } else {
              scheduler.advance(step.ms);
            }
          }
          scheduler.advance(1_000);
          for (const entry of deadlines) {
            if (entry.cancelled) continue;
            // Exactly when its timer could first run after the end of its pass plus the
            // duration (a pass that took time delays timers, as a busy event loop does).
            expect(entry.fired, `registered at ${entry.registeredAt}`).to.deep.equal([
              scheduler.runnableAt(entry.passEnd + duration),
            ]);
            expect(entry.fired[0]).to.be.at.least(entry.registeredAt + duration);
          }
          clock.dispose();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('outside a pass a deadline is stamped when it is registered', () => {
    const scheduler = new HandClock();
    const clock = new EngineClock(scheduler);
    const fired: number[] = [];
    scheduler.elapse(3);
    clock.deadline(10, { expire: () => fired.push(scheduler.now()) });
    scheduler.advance(50);
    expect(fired).to.deep.equal([13]);
  });

  it('a pass nested in a pass stamps with the outer one', () => {
    const scheduler = new HandClock();
    const clock = new EngineClock(scheduler);
    const fired: number[] = [];
    clock.beginPass();
    clock.beginPass();
    clock.deadline(10, { expire: () => fired.push(scheduler.now()) });
    clock.endPass();
    scheduler.elapse(2);
    clock.endPass();
    scheduler.advance(50);
    expect(fired).to.deep.equal([12]);
  });

  it('dispose in the middle of a pass drops what the pass registered', () => {
    const scheduler = new HandClock();
    const clock = new EngineClock(scheduler);
    const fired: number[] = [];
    clock.beginPass();
    clock.deadline(10, { expire: () => fired.push(scheduler.now()) });
    clock.dispose();
    clock.endPass();
    scheduler.advance(50);
    expect(fired).to.deep.equal([]);
  });

  it('in virtual time a runtime budget counts exactly from the frame its transaction started in', () => {
    new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    }).run(({ expectObservable, cold }) => {
      const connector = new MemoryConnector<string>({ source: ['a', 'b', 'c'] });
      // a takes 4 frames, b and c 30: longer than the budget of 10.
      const task = consumerTask<string>({
        process: (transaction) =>
          cold(transaction.payload === 'a' ? '----(x|)' : `${'-'.repeat(30)}(x|)`),
      });
      const statuses = consume(connector, task, {
        loop: { mode: 'batch', concurrency: { value: 3 } },
        transactionRuntime: { timeout: 10 },
      }).pipe(map((outcome) => `${outcome.transaction.payload}:${outcome.status}`));
      expectObservable(statuses).toBe('----a-----(bc|)', {
        a: 'a:success',
        b: 'b:timeout',
        c: 'c:timeout',
      });
    });
  });
});
