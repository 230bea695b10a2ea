import { expect } from 'chai';
import fc from 'fast-check';
import {
  concat,
  finalize,
  ignoreElements,
  map,
  NEVER,
  throwError,
  timer,
  type Observable,
} from 'rxjs';
import { consume, consumerTask, type Outcome, type Transaction } from '../../lib/index.js';
import { settledExactlyOnce, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now } from './support/virtual-time.js';

/** One attempt of a handler: after `frames`, succeed, fail or hang. */
const attempt = fc.record({
  frames: fc.integer({ min: 0, max: 8 }),
  result: fc.constantFrom('ok', 'ok', 'ok', 'fail', 'hang'),
});

interface Item {
  readonly n: number;
  /** `null`: no key. */
  readonly key: string | null;
  /** Behaviour of each process attempt (the last one repeats). */
  readonly attempts: readonly { frames: number; result: string }[];
}

const scenario = fc.record({
  items: fc.array(
    fc.record({
      key: fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { nil: null, freq: 6 }),
      attempts: fc.array(attempt, { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 30 },
  ),
  mode: fc.constantFrom('batch' as const, 'continuous' as const),
  concurrency: fc.integer({ min: 1, max: 6 }),
  keyConcurrency: fc.integer({ min: 1, max: 3 }),
  keyBacklog: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  attemptTimeout: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
  budget: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
  onException: fc.option(attempt, { nil: null }),
  settleDelay: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  stopAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
  grace: fc.integer({ min: 0, max: 15 }),
  unsubscribeAt: fc.option(fc.integer({ min: 0, max: 80 }), { nil: null }),
  /** Run the items through processBatch, in batches of this size, instead of process. */
  batch: fc.option(
    fc.record({ size: fc.integer({ min: 1, max: 5 }), maxWait: fc.integer({ min: 0, max: 6 }) }),
    { nil: null },
  ),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

function play<T>(behaviour: { frames: number; result: string }, value: T): Observable<T> {
  if (behaviour.result === 'hang') return NEVER;
  const wait = timer(behaviour.frames);
  return behaviour.result === 'ok'
    ? wait.pipe(map(() => value))
    : concat(
        wait.pipe(ignoreElements()),
        throwError(() => new Error('random failure')),
      );
}

function runScenario(s: Scenario): void {
  inVirtualTime((helpers, scheduler) => {
    const items: Item[] = s.items.map((item, n) => ({ ...item, n }));
    const connector = new TestConnector<Item>({ source: items, settleDelay: s.settleDelay });
    /** First process start of each transaction, by id. */
    const started = new Map<string, number>();
    const startOrder: Transaction<Item>[] = [];
    let running = 0;
    let peak = 0;
    const begin = (tx: Transaction<Item>): void => {
      if (!started.has(tx.id)) {
        started.set(tx.id, now());
        startOrder.push(tx);
      }
    };
    const behaviourOf = (tx: Transaction<Item>, attempt: number) => {
      const { attempts } = tx.payload;
      return attempts[Math.min(attempt, attempts.length) - 1]!;
    };
    const key = (tx: Transaction<Item>): string | undefined => tx.payload.key ?? undefined;
    const onException = s.onException === null ? undefined : () => play(s.onException!, 'handled');
    const task =
      s.batch === null
        ? consumerTask({
            key,
            process: (tx: Transaction<Item>, ctx) => {
              begin(tx);
              peak = Math.max(peak, ++running);
              return play(behaviourOf(tx, ctx.attempt), tx.payload.n).pipe(
                finalize(() => running--),
              );
            },
            onException,
          })
        : consumerTask({
            key,
            // A batch takes as long as its slowest item, fails if one fails, hangs if one hangs.
            processBatch: (txs: readonly Transaction<Item>[], ctx) => {
              for (const tx of txs) begin(tx);
              running += txs.length;
              peak = Math.max(peak, running);
              const behaviours = txs.map((tx) => behaviourOf(tx, ctx.attempt));
              const result = behaviours.some((b) => b.result === 'hang')
                ? 'hang'
                : behaviours.some((b) => b.result === 'fail')
                  ? 'fail'
                  : 'ok';
              const frames = Math.max(...behaviours.map((b) => b.frames));
              return play(
                { frames, result },
                txs.map((tx) => ({ ok: true as const, value: tx.payload.n })),
              ).pipe(finalize(() => (running -= txs.length)));
            },
            onException,
          });
    const outcomes: Outcome<Item, number>[] = [];
    let ended = false;
    const stop$ = s.stopAt === null ? undefined : helpers.cold(`${s.stopAt}ms s`);
    const subscription = consume(
      connector,
      task,
      {
        loop: {
          mode: s.mode,
          concurrency: { value: s.concurrency },
          keyConcurrency: { value: s.keyConcurrency },
          keyBacklog: s.keyBacklog,
          shutdownGrace: s.grace,
        },
        transactionRuntime: { timeout: s.budget },
        process: {
          retry: { maxAttempts: s.maxAttempts, timeout: s.attemptTimeout, backoff: 1 },
          batch: s.batch ?? {},
        },
        exception: { retry: { timeout: 20 } },
      },
      { stop$ },
    ).subscribe({
      next: (outcome) => outcomes.push(outcome),
      error: () => (ended = true),
      complete: () => (ended = true),
    });
    if (s.unsubscribeAt !== null) {
      scheduler.schedule(() => subscription.unsubscribe(), s.unsubscribeAt);
    }
    scheduler.flush();
    const hardStopped = !ended;
    if (hardStopped) {
      subscription.unsubscribe();
      scheduler.flush();
    }

    // Every fetched transaction is settled exactly once, with one outcome each.
    expect(settledExactlyOnce(connector)).to.equal(null);
    const ids = outcomes.map((o) => o.transaction.id);
    expect(new Set(ids).size).to.equal(ids.length);
    if (!hardStopped) expect(ids.length).to.equal(connector.delivered.length);
    expect(peak, 'in flight').to.be.at.most(s.concurrency);

    // Memory stays bounded: what a fetch may bring plus what is held never exceeds the
    // concurrency plus the key backlog.
    const bound = s.concurrency + (s.keyBacklog ?? 4 * s.concurrency);
    let delivered = 0;
    for (const call of connector.calls) {
      const settled = connector.settles.filter(
        (c) => c.finishedAt !== null && c.finishedAt <= call.at,
      ).length;
      expect(delivered - settled + call.size, `held at ${call.at}`).to.be.at.most(bound);
      delivered += call.returned;
    }

    const settledAt = new Map<string, number>();
    for (const call of connector.settles) settledAt.set(call.transaction.id, call.finishedAt!);
    const keyOf = (tx: Transaction<Item>): string | null => tx.payload.key;
    for (const key of ['a', 'b', 'c', 'd']) {
      // Per-key order: the started ones are the first ones fetched, started in fetch order.
      const fetched = connector.delivered.filter((tx) => keyOf(tx) === key).map((tx) => tx.id);
      const starts = startOrder.filter((tx) => keyOf(tx) === key).map((tx) => tx.id);
      expect(starts, `start order of key ${key}`).to.deep.equal(fetched.slice(0, starts.length));
      // Per-key concurrency: from its first start to its settlement's end, at most
      // keyConcurrency transactions of a key are active at any start.
      const spans = starts.map((id) => ({ from: started.get(id)!, to: settledAt.get(id)! }));
      for (const { from } of spans) {
        const active = spans.filter((span) => span.from <= from && from < span.to).length;
        expect(active, `key ${key} active at ${from}`).to.be.at.most(s.keyConcurrency);
      }
    }
  });
}

describe('keyed processing (property-based)', () => {
  it('keeps order and concurrency per key, bounds in-flight work and settles each transaction once, with process or processBatch', () => {
    fc.assert(fc.property(scenario, runScenario), { numRuns: 500 });
  });
});
