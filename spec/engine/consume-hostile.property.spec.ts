import { expect } from 'chai';
import fc from 'fast-check';
import {
  concat,
  defer,
  from,
  ignoreElements,
  map,
  mergeMap,
  NEVER,
  Observable,
  throwError,
  timer,
  VirtualTimeScheduler,
  type Subscription,
} from 'rxjs';
import {
  consume,
  consumerTask,
  type Connector,
  type Eventually,
  type FetchRequest,
  type HandlerContext,
  type Outcome,
  type SettleDecision,
  type Transaction,
} from '../../lib/index.js';
import { MemoryTransaction } from '../../lib/connectors/memory/memory-transaction.js';
import { oddValues } from './support/odd-values.js';

/**
 * The consume loop against hostile handlers and connectors, in virtual time: handlers that
 * throw or reject odd values, hang, resolve only after their abort, or emit 0, 1 or many
 * values; connectors whose fetch over-returns, redelivers, fails with odd values or never
 * completes, and whose settle throws, rejects, hangs or calls back twice; and stops,
 * unsubscribes and timeouts at random moments. Whatever happens: one settle per fetched
 * delivery, one outcome per delivery whenever the run ends (at most one after a hard stop), no
 * more in flight than the concurrency, no unhandled rejection.
 *
 * Runs `ERGON_PROPERTY_RUNS` scenarios (default 2 000).
 */
const runs = Number(process.env['ERGON_PROPERTY_RUNS'] ?? 2000);

/** Virtual time after which a run that has not ended is stopped the hard way. */
const horizon = 400;

const oddKinds = [...Object.keys(oddValues), 'Error', 'string', 'undefined'] as const;
const oddKind = fc.constantFrom(...oddKinds);

function odd(kind: string): unknown {
  if (kind === 'Error') return new Error('plain failure');
  if (kind === 'string') return 'a thrown string';
  if (kind === 'undefined') return undefined;
  return oddValues[kind]!();
}

const handlerBehaviour = fc.oneof(
  fc.record({ kind: fc.constant('value' as const) }),
  fc.record({
    kind: fc.constant('observable' as const),
    frames: fc.integer({ min: 0, max: 8 }),
    values: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('promise' as const), frames: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ kind: fc.constant('throw' as const), odd: oddKind }),
  fc.record({
    kind: fc.constant('reject' as const),
    frames: fc.integer({ min: 0, max: 8 }),
    odd: oddKind,
  }),
  fc.record({
    kind: fc.constant('error$' as const),
    frames: fc.integer({ min: 0, max: 8 }),
    odd: oddKind,
  }),
  fc.record({ kind: fc.constant('returnOdd' as const), odd: oddKind }),
  fc.record({ kind: fc.constant('hang' as const) }),
  fc.record({ kind: fc.constant('resolveAfterAbort' as const) }),
);
type HandlerBehaviour = typeof handlerBehaviour extends fc.Arbitrary<infer B> ? B : never;

const settleBehaviour = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
  fc.record({ kind: fc.constant('throw' as const), odd: oddKind }),
  fc.record({ kind: fc.constant('observable' as const), frames: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('promise' as const), frames: fc.integer({ min: 0, max: 4 }) }),
  fc.record({
    kind: fc.constant('reject' as const),
    frames: fc.integer({ min: 0, max: 4 }),
    odd: oddKind,
  }),
  fc.record({ kind: fc.constant('hang' as const) }),
  fc.record({ kind: fc.constant('twice' as const), frames: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('thenThrows' as const) }),
  fc.record({ kind: fc.constant('returnOdd' as const), odd: oddKind }),
);
type SettleBehaviour = typeof settleBehaviour extends fc.Arbitrary<infer B> ? B : never;

const fetchShape = fc.record({
  /** Returned relative to the request (over- and under-returning). */
  extra: fc.integer({ min: -2, max: 3 }),
  frames: fc.integer({ min: 0, max: 4 }),
  /** Also redeliver the first transaction of this fetch (a second delivery, same id). */
  redeliver: fc.boolean(),
  fails: fc.option(oddKind, { nil: null, freq: 6 }),
  /** Emits, then never completes (only a fetch timeout ends it). */
  neverCompletes: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
});

const scenario = fc.record({
  sourceSize: fc.integer({ min: 0, max: 16 }),
  fetchShapes: fc.array(fetchShape, { minLength: 1, maxLength: 6 }),
  settles: fc.array(settleBehaviour, { minLength: 1, maxLength: 6 }),
  mode: fc.constantFrom('batch' as const, 'continuous' as const),
  streaming: fc.boolean(),
  concurrency: fc.integer({ min: 1, max: 5 }),
  batchSize: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
  limit: fc.option(fc.integer({ min: 0, max: 14 }), { nil: null }),
  process: fc.array(handlerBehaviour, { minLength: 1, maxLength: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  attemptTimeout: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
  budget: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
  onSuccess: fc.option(handlerBehaviour, { nil: null }),
  onException: fc.option(handlerBehaviour, { nil: null }),
  fetchAttempts: fc.integer({ min: 1, max: 3 }),
  fetchTimeout: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
  stopAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
  grace: fc.integer({ min: 0, max: 15 }),
  unsubscribeAt: fc.option(fc.integer({ min: 0, max: 80 }), { nil: null }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/** Lets promise reactions run between virtual frames (a few hops of engine code each). */
async function drainMicrotasks(): Promise<void> {
  for (let hop = 0; hop < 12; hop++) await Promise.resolve();
}

/** After `frames` of virtual time, on `scheduler`. */
function later(scheduler: VirtualTimeScheduler, frames: number, work: () => void): void {
  scheduler.schedule(work, frames);
}

function handler(
  behaviour: HandlerBehaviour,
  value: unknown,
  context: HandlerContext,
  scheduler: VirtualTimeScheduler,
): unknown {
  switch (behaviour.kind) {
    case 'value':
      return value;
    case 'observable':
      return timer(behaviour.frames, scheduler).pipe(
        mergeMap(() => from(Array.from({ length: behaviour.values }, () => value))),
      );
    case 'promise':
      return new Promise((resolve) => later(scheduler, behaviour.frames, () => resolve(value)));
    case 'throw':
      throw odd(behaviour.odd);
    case 'reject':
      return new Promise((_resolve, reject) =>
        later(scheduler, behaviour.frames, () => reject(odd(behaviour.odd))),
      );
    case 'error$':
      return concat(
        timer(behaviour.frames, scheduler).pipe(ignoreElements()),
        throwError(() => odd(behaviour.odd)),
      );
    case 'returnOdd':
      return odd(behaviour.odd);
    case 'hang':
      return NEVER;
    case 'resolveAfterAbort':
      return new Promise((resolve) =>
        context.signal.addEventListener('abort', () => resolve(value), { once: true }),
      );
  }
}

/** A connector that misbehaves as the scenario says and records every delivery and settle. */
class HostileConnector implements Connector<number> {
  /** Every delivery fetch emitted (a redelivery is a delivery of its own). */
  readonly deliveries: Transaction<number>[] = [];
  readonly settled = new Map<Transaction<number>, SettleDecision[]>();
  private next = 0;
  private fetches = 0;
  private settles = 0;

  constructor(
    private readonly s: Scenario,
    private readonly scheduler: VirtualTimeScheduler,
  ) {}

  fetch(request: FetchRequest): Observable<Transaction<number>> {
    return defer(() => {
      const shape = this.s.fetchShapes[this.fetches++ % this.s.fetchShapes.length]!;
      const failure = shape.fails;
      if (failure !== null) {
        return concat(
          timer(shape.frames, this.scheduler).pipe(ignoreElements()),
          throwError(() => odd(failure)),
        );
      }
      const count = Math.max(
        0,
        Math.min(request.size + shape.extra, this.s.sourceSize - this.next),
      );
      const batch = Array.from(
        { length: count },
        () => new MemoryTransaction(`t${this.next}`, this.next++),
      );
      if (shape.redeliver && batch.length > 0) {
        batch.push(new MemoryTransaction(batch[0]!.id, batch[0]!.payload));
      }
      return new Observable<Transaction<number>>((subscriber) =>
        timer(shape.frames, this.scheduler).subscribe(() => {
          for (const delivery of batch) {
            if (subscriber.closed) return;
            this.deliveries.push(delivery);
            subscriber.next(delivery);
          }
          if (!shape.neverCompletes) subscriber.complete();
        }),
      );
    });
  }

  settle(transaction: Transaction<number>, decision: SettleDecision): Eventually<void> {
    const decisions = this.settled.get(transaction) ?? [];
    decisions.push(decision);
    this.settled.set(transaction, decisions);
    const behaviour: SettleBehaviour = this.s.settles[this.settles++ % this.s.settles.length]!;
    const scheduler = this.scheduler;
    switch (behaviour.kind) {
      case 'sync':
        return undefined;
      case 'throw':
        throw odd(behaviour.odd);
      case 'observable':
        return timer(behaviour.frames, scheduler).pipe(map(() => undefined));
      case 'promise':
        return new Promise<void>((resolve) => later(scheduler, behaviour.frames, resolve));
      case 'reject':
        return new Promise<void>((_resolve, reject) =>
          later(scheduler, behaviour.frames, () => reject(odd(behaviour.odd))),
        );
      case 'hang':
        return new Promise<void>(() => undefined);
      case 'twice':
        return {
          then(resolve: () => void, reject: (error: unknown) => void): void {
            later(scheduler, behaviour.frames, () => {
              resolve();
              resolve();
              reject(new Error('and then rejects'));
            });
          },
        } as unknown as PromiseLike<void>;
      case 'thenThrows':
        return {
          then(resolve: () => void): never {
            resolve();
            throw new Error('then throws after resolving');
          },
        } as unknown as PromiseLike<void>;
      case 'returnOdd':
        return odd(behaviour.odd) as Eventually<void>;
    }
  }
}

async function runScenario(s: Scenario): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const connector = new HostileConnector(s, scheduler);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => void rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const active = new Set<Transaction<number>>();
    let peak = 0;
    const task = consumerTask({
      process: (tx: Transaction<number>, context) => {
        if (context.attempt === 1) {
          active.add(tx);
          peak = Math.max(peak, active.size);
        }
        const behaviour = s.process[Math.min(context.attempt, s.process.length) - 1]!;
        return handler(behaviour, tx.payload, context, scheduler) as never;
      },
      onSuccess:
        s.onSuccess === null
          ? undefined
          : (_tx, _result, context) => handler(s.onSuccess!, 'ok', context, scheduler) as never,
      onException:
        s.onException === null
          ? undefined
          : (_tx, _error, context) =>
              handler(s.onException!, 'handled', context, scheduler) as never,
    });
    const outcomes: Outcome<number>[] = [];
    let ended: 'complete' | 'error' | null = null;
    let hardStopped = false;
    const subscription: Subscription = consume(
      connector,
      task,
      {
        loop: {
          mode: s.mode,
          streaming: s.streaming,
          concurrency: { value: s.concurrency },
          limit: s.limit,
          shutdownGrace: s.grace,
        },
        fetch: {
          batch: { size: s.batchSize },
          retry: { maxAttempts: s.fetchAttempts, timeout: s.fetchTimeout },
          empty: { backoff: 5, backoffCap: 20 },
        },
        transactionRuntime: { timeout: s.budget },
        process: { retry: { maxAttempts: s.maxAttempts, timeout: s.attemptTimeout } },
        success: { retry: { timeout: 30 } },
        exception: { retry: { timeout: 30 } },
      },
      {
        scheduler,
        stop$: s.stopAt === null ? undefined : timer(s.stopAt, scheduler),
      },
    ).subscribe({
      next: (outcome) => {
        outcomes.push(outcome);
        active.delete(outcome.transaction);
      },
      error: () => (ended = 'error'),
      complete: () => (ended = 'complete'),
    });
    if (s.unsubscribeAt !== null) {
      later(scheduler, s.unsubscribeAt, () => {
        hardStopped ||= ended === null;
        subscription.unsubscribe();
      });
    }

    // Virtual time, frame by frame, with promise reactions between frames.
    for (;;) {
      await drainMicrotasks();
      const next = scheduler.actions[0];
      if (next === undefined || next.delay > horizon || ended !== null || hardStopped) break;
      scheduler.maxFrames = next.delay;
      scheduler.flush();
    }
    if (ended === null) {
      // Hung work without a timeout, a hanging settle or an endless stream: stop it hard.
      hardStopped = true;
      subscription.unsubscribe();
    }
    scheduler.maxFrames = Infinity;
    scheduler.actions.length = 0;
    await new Promise((resolve) => setImmediate(resolve));

    // One settle per fetched delivery, whatever happened.
    for (const delivery of connector.deliveries) {
      expect(connector.settled.get(delivery)?.length, `settles of ${delivery.id}`).to.equal(1);
    }
    expect(connector.settled.size).to.equal(connector.deliveries.length);
    // At most one outcome per delivery; exactly one whenever the run ended by itself.
    const seen = new Set(outcomes.map((outcome) => outcome.transaction));
    expect(seen.size, 'one outcome per delivery').to.equal(outcomes.length);
    if (!hardStopped) expect(outcomes.length).to.equal(connector.deliveries.length);
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
    expect(peak, 'in flight').to.be.at.most(s.concurrency);
    if (s.limit !== null) {
      const processed = outcomes.filter(
        (o) => o.status !== 'released' || o.reason !== 'overLimit',
      ).length;
      expect(processed).to.be.at.most(s.limit);
    }
    expect(rejections, 'unhandled rejections').to.deep.equal([]);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
}

describe('consume against hostile handlers and connectors (property-based, virtual time)', () => {
  it(`keeps one settle and one outcome per delivery, bounds in-flight work, rejects nothing unhandled (${runs} runs)`, async function () {
    this.timeout(Math.max(60_000, runs * 60));
    const started = Date.now();
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: runs });
    if (runs > 2000) console.log(`      ${runs} runs in ${Date.now() - started} ms`);
  });
});
