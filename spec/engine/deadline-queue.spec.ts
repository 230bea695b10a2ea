import { expect } from 'chai';
import fc from 'fast-check';
import { TestScheduler } from 'rxjs/testing';
import { DeadlineQueue, type Deadline } from '../../lib/engine/internal/engine-clock.js';

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
