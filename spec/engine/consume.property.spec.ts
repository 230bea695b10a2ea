import { expect } from 'chai';
import fc from 'fast-check';
import {
  concat,
  defer,
  ignoreElements,
  map,
  NEVER,
  Observable,
  of,
  throwError,
  timer,
  type Subscription,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  consume,
  consumerTask,
  createTransaction,
  type Connector,
  type FetchRequest,
  type Outcome,
  type SettleDecision,
  type Transaction,
} from '../../lib/index.js';

/** How one attempt of a handler behaves: after `frames`, succeed, fail or hang. */
const attemptBehaviour = fc.record({
  frames: fc.integer({ min: 0, max: 6 }),
  result: fc.constantFrom('ok', 'ok', 'fail', 'hang'),
});

const scenario = fc.record({
  sourceSize: fc.integer({ min: 0, max: 30 }),
  /** Per fetch: how many transactions the connector returns relative to the request. */
  fetchShapes: fc.array(
    fc.record({
      extra: fc.integer({ min: -3, max: 3 }),
      frames: fc.integer({ min: 0, max: 3 }),
      fails: fc.boolean(),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  mode: fc.constantFrom('batch' as const, 'continuous' as const),
  concurrency: fc.integer({ min: 1, max: 6 }),
  batchSize: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  limit: fc.option(fc.integer({ min: 0, max: 25 }), { nil: null }),
  processAttempts: fc.array(attemptBehaviour, { minLength: 1, maxLength: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  attemptTimeout: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  budget: fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }),
  onSuccess: fc.option(attemptBehaviour, { nil: null }),
  onException: fc.option(attemptBehaviour, { nil: null }),
  fetchAttempts: fc.integer({ min: 1, max: 3 }),
  stopAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
  grace: fc.integer({ min: 0, max: 10 }),
  unsubscribeAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
  asyncSettle: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;
type Behaviour = Scenario['processAttempts'][number];

function play<T>(behaviour: Behaviour, value: T): Observable<T> {
  switch (behaviour.result) {
    case 'ok':
      return timer(behaviour.frames).pipe(map(() => value));
    case 'fail':
      return concat(
        timer(behaviour.frames).pipe(ignoreElements()),
        throwError(() => new Error('random failure')),
      );
    case 'hang':
      return NEVER;
  }
  throw new Error(`unknown behaviour ${String(behaviour.result)}`);
}

/** A connector that returns a random number of transactions per fetch and records everything. */
class RandomConnector implements Connector<number> {
  readonly fetched: Transaction<number>[] = [];
  readonly settled = new Map<Transaction<number>, SettleDecision[]>();
  /** Each request's size, with how many transactions had been fetched before it. */
  readonly requested: { size: number; fetchedBefore: number }[] = [];
  private next = 0;
  private fetches = 0;

  constructor(private readonly s: Scenario) {}

  fetch(request: FetchRequest): Observable<Transaction<number>> {
    return defer(() => {
      this.requested.push({ size: request.size, fetchedBefore: this.fetched.length });
      const shape = this.s.fetchShapes[this.fetches++ % this.s.fetchShapes.length]!;
      if (shape.fails) {
        return concat(
          timer(shape.frames).pipe(ignoreElements()),
          throwError(() => new Error('fetch failed')),
        );
      }
      const count = Math.max(
        0,
        Math.min(request.size + shape.extra, this.s.sourceSize - this.next),
      );
      const batch = Array.from({ length: count }, () =>
        createTransaction(this.next, { id: `t${this.next++}` }),
      );
      return timer(shape.frames).pipe(
        map(() => batch),
        (source) =>
          new Observable<Transaction<number>>((subscriber) =>
            source.subscribe({
              next: (items) => {
                for (const item of items) {
                  this.fetched.push(item);
                  subscriber.next(item);
                }
              },
              error: (error: unknown) => subscriber.error(error),
              complete: () => subscriber.complete(),
            }),
          ),
      );
    });
  }

  settle(transaction: Transaction<number>, decision: SettleDecision): Observable<void> | void {
    const decisions = this.settled.get(transaction) ?? [];
    decisions.push(decision);
    this.settled.set(transaction, decisions);
    return this.s.asyncSettle ? timer(1).pipe(map(() => undefined)) : undefined;
  }
}

function runScenario(s: Scenario): void {
  const testScheduler = new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
  testScheduler.run(({ cold }) => {
    const connector = new RandomConnector(s);
    const active = new Set<string>();
    let peak = 0;
    const begin = (tx: Transaction<number>): void => {
      active.add(tx.id);
      peak = Math.max(peak, active.size);
    };
    const task = consumerTask({
      process: (tx: Transaction<number>, ctx) => {
        begin(tx);
        const behaviour = s.processAttempts[Math.min(ctx.attempt, s.processAttempts.length) - 1]!;
        return play(behaviour, tx.payload);
      },
      onSuccess: s.onSuccess === null ? undefined : () => play(s.onSuccess!, 'ok'),
      onException: s.onException === null ? undefined : () => play(s.onException!, 'handled'),
    });
    const outcomes: Outcome<number, number>[] = [];
    let ended: 'complete' | 'error' | null = null;
    const stop$ = s.stopAt === null ? undefined : cold(`${s.stopAt}ms s`);
    const subscription: Subscription = consume(
      connector,
      task,
      {
        loop: {
          mode: s.mode,
          concurrency: { value: s.concurrency },
          limit: s.limit,
          shutdownGrace: s.grace,
        },
        fetch: { batch: { size: s.batchSize }, retry: { maxAttempts: s.fetchAttempts } },
        transactionRuntime: { timeout: s.budget },
        process: { retry: { maxAttempts: s.maxAttempts, timeout: s.attemptTimeout } },
        exception: { retry: { timeout: 20 } },
        success: { retry: { timeout: 20 } },
      },
      { stop$ },
    ).subscribe({
      next: (outcome) => {
        outcomes.push(outcome);
        active.delete(outcome.transaction.id);
      },
      error: () => (ended = 'error'),
      complete: () => (ended = 'complete'),
    });
    if (s.unsubscribeAt !== null) {
      testScheduler.schedule(() => subscription.unsubscribe(), s.unsubscribeAt);
    }
    testScheduler.flush();
    // A handler that hangs with no timeout keeps the loop alive: stop it the hard way.
    const hardStopped = ended === null;
    if (hardStopped) {
      subscription.unsubscribe();
      testScheduler.flush();
    }

    // Every fetched transaction is settled exactly once, whatever happened.
    for (const tx of connector.fetched) {
      expect(connector.settled.get(tx)?.length, `settlements of ${tx.id}`).to.equal(1);
    }
    expect(connector.settled.size).to.equal(connector.fetched.length);
    // One outcome per fetched transaction (all of them unless the subscriber left early).
    const ids = outcomes.map((o) => o.transaction.id);
    expect(new Set(ids).size).to.equal(ids.length);
    if (!hardStopped) expect(ids.length).to.equal(connector.fetched.length);
    // The outcome agrees with the settlement.
    for (const outcome of outcomes) {
      const [decision] = connector.settled.get(outcome.transaction)!;
      const expected =
        outcome.status === 'released'
          ? 'release'
          : outcome.status === 'failed' || (outcome.status === 'timeout' && !outcome.handled)
            ? 'deadLetter'
            : 'ack';
      expect(decision!.type, `${outcome.transaction.id} ${outcome.status}`).to.equal(expected);
    }
    // In flight never above the concurrency.
    expect(peak).to.be.at.most(s.concurrency);
    // The limit is never exceeded: asked for and processed.
    if (s.limit !== null) {
      const processed = outcomes.filter(
        (o) => o.status !== 'released' || o.reason !== 'overLimit',
      ).length;
      expect(processed).to.be.at.most(s.limit);
      for (const { size, fetchedBefore } of connector.requested) {
        expect(size).to.be.at.least(1);
        expect(size, 'a fetch asks for no more than remains').to.be.at.most(
          s.limit - Math.min(fetchedBefore, s.limit),
        );
      }
    }
  });
}

describe('consume (property-based)', () => {
  it('settles every fetched transaction exactly once, bounds in-flight work and respects the limit', () => {
    fc.assert(fc.property(scenario, runScenario), { numRuns: 400 });
  });

  it('a run without stops or failures processes the whole source', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('batch' as const, 'continuous' as const),
        (size, concurrency, mode) => {
          const testScheduler = new TestScheduler((actual, expected) => {
            expect(actual).to.deep.equal(expected);
          });
          testScheduler.run(() => {
            const s: Scenario = {
              sourceSize: size,
              fetchShapes: [{ extra: 0, frames: 1, fails: false }],
              mode,
              concurrency,
              batchSize: null,
              limit: null,
              processAttempts: [{ frames: 2, result: 'ok' }],
              maxAttempts: 1,
              attemptTimeout: null,
              budget: null,
              onSuccess: null,
              onException: null,
              fetchAttempts: 1,
              stopAt: null,
              grace: 0,
              unsubscribeAt: null,
              asyncSettle: false,
            };
            const connector = new RandomConnector(s);
            const task = consumerTask({ process: (tx: Transaction<number>) => of(tx.payload) });
            let count = 0;
            consume(connector, task, {
              loop: { mode, concurrency: { value: concurrency } },
            }).subscribe(() => count++);
            testScheduler.flush();
            expect(count).to.equal(size);
            expect(connector.fetched.length).to.equal(size);
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
