import { expect } from 'chai';
import fc from 'fast-check';
import {
  concat,
  concatMap,
  finalize,
  from,
  ignoreElements,
  map,
  NEVER,
  type Observable,
  tap,
  throwError,
  timer,
} from 'rxjs';
import {
  createTransaction,
  LoopTimeoutError,
  MemoryConnector,
  produce,
  producerTask,
  type Connector,
  type DispatchReport,
  type FetchRequest,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { Gauge, inVirtualTime, now, record } from './support/virtual-time.js';

/** How one attempt of a handler behaves: after `frames`, succeed, fail or hang. */
const behaviour = fc.record({
  frames: fc.integer({ min: 0, max: 5 }),
  result: fc.constantFrom('ok' as const, 'ok' as const, 'fail' as const, 'hang' as const),
});

/** How one `connector.dispatch` call behaves. */
const dispatchStep = fc.record({
  frames: fc.integer({ min: 0, max: 4 }),
  kind: fc.constantFrom('ok' as const, 'ok' as const, 'throw' as const, 'partial' as const),
  /** Which transactions of the batch a partial failure fails: those with (index + seed) % 3 === 0. */
  seed: fc.integer({ min: 0, max: 2 }),
});

const scenario = fc.record({
  inputs: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 25 }),
  batchSize: fc.integer({ min: 1, max: 6 }),
  maxWait: fc.integer({ min: 0, max: 10 }),
  concurrency: fc.integer({ min: 1, max: 5 }),
  dispatchConcurrency: fc.integer({ min: 1, max: 3 }),
  dispatchAttempts: fc.integer({ min: 1, max: 3 }),
  dispatchBackoff: fc.integer({ min: 0, max: 5 }),
  dispatchScript: fc.array(dispatchStep, { minLength: 1, maxLength: 8 }),
  prepare: fc.option(fc.array(behaviour, { minLength: 1, maxLength: 3 }), { nil: null }),
  prepareAttempts: fc.integer({ min: 1, max: 2 }),
  prepareTimeout: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  onSuccess: fc.option(behaviour, { nil: null }),
  onException: fc.option(behaviour, { nil: null }),
  budget: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
  limit: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
  loopTimeout: fc.option(fc.integer({ min: 1, max: 80 }), { nil: null }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;
type Behaviour = typeof behaviour extends fc.Arbitrary<infer B> ? B : never;
type DispatchStep = typeof dispatchStep extends fc.Arbitrary<infer D> ? D : never;

/** A value or Observable per `behaviour`; frames 0 runs synchronously (value or throw). */
function play<T>(b: Behaviour, value: T, canHang: boolean): T | Observable<T> {
  const result = b.result === 'hang' && !canHang ? 'ok' : b.result;
  if (b.frames === 0 && result === 'ok') return value;
  if (b.frames === 0 && result === 'fail') throw new Error('random failure');
  switch (result) {
    case 'ok':
      return timer(b.frames).pipe(map(() => value));
    case 'fail':
      return concat(
        timer(b.frames).pipe(ignoreElements()),
        throwError(() => new Error('random failure')),
      );
    case 'hang':
      return NEVER;
  }
}

/** Dispatch follows a script (cycled); it keeps every batch and what was really accepted. */
class ScriptedConnector implements Connector<string> {
  readonly memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
  readonly batches: string[][] = [];
  readonly sending = new Gauge();

  constructor(private readonly script: readonly DispatchStep[]) {}

  fetch(request: FetchRequest): Observable<Transaction<string>> {
    return this.memory.fetch(request);
  }

  dispatch(
    batch: readonly Transaction<string>[],
  ): DispatchReport<string> | Observable<DispatchReport<string>> {
    const call = this.batches.length;
    this.batches.push(batch.map((t) => t.id));
    const step = this.script[call % this.script.length] as DispatchStep;
    const act = (): DispatchReport<string> => {
      if (step.kind === 'throw') throw new Error(`dispatch call ${call} failed`);
      const failed =
        step.kind === 'partial'
          ? batch
              .filter((_t, i) => (i + step.seed) % 3 === 0)
              .map((transaction) => ({ transaction, error: new Error('partial failure') }))
          : [];
      this.memory.dispatch(batch.filter((t) => !failed.some((f) => f.transaction === t)));
      return { failed };
    };
    this.sending.enter();
    if (step.frames === 0) {
      try {
        return act();
      } finally {
        this.sending.exit();
      }
    }
    return timer(step.frames).pipe(
      map(act),
      finalize(() => this.sending.exit()),
    );
  }
}

interface RunResult {
  readonly outcomes: Outcome<string, Transaction<string>>[];
  readonly emitted: { id: string; at: number }[];
  readonly connector: ScriptedConnector;
  readonly prepares: Gauge;
  readonly prepared: Set<string>;
  readonly successStarted: Set<string>;
  readonly completedAt: number | null;
  readonly erroredAt: number | null;
  readonly error: unknown;
}

function run(s: Scenario): RunResult {
  return inVirtualTime((_h, scheduler) => {
    const connector = new ScriptedConnector(s.dispatchScript);
    const prepares = new Gauge();
    const prepared = new Set<string>();
    /** Transactions whose onSuccess started: they were dispatched. */
    const successStarted = new Set<string>();
    const emitted: { id: string; at: number }[] = [];
    const prepareScript = s.prepare;
    const task = producerTask({
      prepare:
        prepareScript === null
          ? undefined
          : (t: Transaction<string>, ctx) => {
              prepared.add(t.id);
              const b = (prepareScript[ctx.attempt - 1] ?? prepareScript.at(-1)) as Behaviour;
              prepares.enter();
              let result: string | Observable<string>;
              try {
                result = play(b, `${t.payload}!`, s.prepareTimeout !== null);
              } catch (error) {
                prepares.exit();
                throw error;
              }
              if (typeof result === 'string') {
                prepares.exit();
                return result;
              }
              return result.pipe(finalize(() => prepares.exit()));
            },
      onSuccess:
        s.onSuccess === null
          ? undefined
          : (t: Transaction<string>) => {
              successStarted.add(t.id);
              return play(s.onSuccess as Behaviour, 'ok', s.budget !== null);
            },
      onException:
        s.onException === null
          ? undefined
          : () => play(s.onException as Behaviour, 'handled', false),
    });
    const source = from(s.inputs.map((gap, i) => ({ gap, i }))).pipe(
      concatMap(({ gap, i }) => {
        const transaction = createTransaction(`p${i}`, { id: `i${i}` });
        return gap === 0 ? [transaction] : timer(gap).pipe(map(() => transaction));
      }),
      tap((t) => emitted.push({ id: t.id, at: now() })),
    );
    const recording = record(
      source.pipe(
        produce(connector, task, {
          loop: {
            concurrency: { value: s.concurrency },
            batch: { size: s.batchSize, maxWait: s.maxWait },
            limit: s.limit,
            timeout: s.loopTimeout,
          },
          transactionRuntime: { timeout: s.budget },
          prepare: { retry: { maxAttempts: s.prepareAttempts, timeout: s.prepareTimeout } },
          dispatch: {
            retry: { maxAttempts: s.dispatchAttempts, backoff: s.dispatchBackoff },
            concurrency: { value: s.dispatchConcurrency },
          },
        }),
      ),
    );
    scheduler.flush();
    return {
      outcomes: recording.values,
      emitted,
      connector,
      prepares,
      prepared,
      successStarted,
      completedAt: recording.completedAt,
      erroredAt: recording.erroredAt,
      error: recording.error,
    };
  }, 100_000);
}

const params: fc.Parameters<[Scenario]> = { numRuns: 300 };

describe('produce — properties', () => {
  it('every input taken gets exactly one outcome, and the run ends', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = run(s);
        const taken = s.limit === null ? s.inputs.length : Math.min(s.limit, s.inputs.length);
        const ids = r.outcomes.map((o) => o.transaction.id);
        expect(new Set(ids).size, 'an input got two outcomes').to.equal(ids.length);
        if (s.loopTimeout === null) {
          expect(r.error, 'errored').to.equal(undefined);
          expect(r.completedAt, 'never completed').to.not.equal(null);
          expect([...ids].sort()).to.deep.equal(
            Array.from({ length: taken }, (_, i) => `i${i}`).sort(),
          );
        } else {
          expect(r.completedAt !== null || r.erroredAt !== null, 'never ended').to.equal(true);
          if (r.erroredAt !== null) expect(r.error).to.be.instanceOf(LoopTimeoutError);
          const allowed = new Set(Array.from({ length: taken }, (_, i) => `i${i}`));
          for (const id of ids) expect(allowed.has(id), `unexpected outcome ${id}`).to.equal(true);
          const end = r.completedAt ?? r.erroredAt ?? Infinity;
          for (const { id, at } of r.emitted) {
            if (at < end && allowed.has(id)) expect(ids, `${id} has no outcome`).to.include(id);
          }
        }
      }),
      params,
    );
  });

  it('no batch is larger than loop.batch.size, and at most dispatch.concurrency are sent at once', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = run(s);
        for (const batch of r.connector.batches) {
          expect(batch.length).to.be.within(1, s.batchSize);
        }
        expect(r.connector.sending.peak).to.be.at.most(s.dispatchConcurrency);
      }),
      params,
    );
  });

  it('nothing is dispatched twice in one run, and only what was taken is dispatched', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = run(s);
        const dispatched = r.connector.memory.dispatched.map((t) => t.id);
        expect(new Set(dispatched).size, `dispatched twice: ${dispatched.join(',')}`).to.equal(
          dispatched.length,
        );
        const taken = s.limit === null ? s.inputs.length : Math.min(s.limit, s.inputs.length);
        for (const id of dispatched) expect(Number(id.slice(1))).to.be.below(taken);
      }),
      params,
    );
  });

  it('prepares in flight never exceed loop.concurrency.value', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = run(s);
        expect(r.prepares.peak).to.be.at.most(s.concurrency);
        if (s.limit !== null) expect(r.prepared.size).to.be.at.most(s.limit);
      }),
      params,
    );
  });

  it('with instant dispatch, a transaction that timed out or was released waiting for it is never dispatched', () => {
    // Instant dispatch: a transaction can only wait in a forming batch or for a free slot.
    // Budgets and slow exception handlers are made common, since that is where it goes wrong.
    const instant = fc
      .tuple(
        scenario,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 10 }),
      )
      .map(([s, budget, handlerFrames, maxWait]) => ({
        ...s,
        dispatchBackoff: 0,
        dispatchScript: s.dispatchScript.map((step) => ({ ...step, frames: 0 })),
        budget: s.budget ?? budget,
        maxWait: s.maxWait === 0 ? maxWait : s.maxWait,
        onException: s.onException ?? { frames: handlerFrames, result: 'ok' as const },
      }));
    fc.assert(
      fc.property(instant, (s) => {
        const r = run(s);
        const dispatched = new Set(r.connector.memory.dispatched.map((t) => t.id));
        for (const outcome of r.outcomes) {
          // Released after its dispatch (in onSuccess, by the loop timeout) is not waiting.
          const waiting =
            (outcome.status === 'released' && !r.successStarted.has(outcome.transaction.id)) ||
            (outcome.status === 'timeout' && outcome.error.stage === 'dispatch');
          if (waiting) {
            expect(
              dispatched.has(outcome.transaction.id),
              `${outcome.transaction.id} ended ${outcome.status} before dispatch, yet was dispatched`,
            ).to.equal(false);
          }
        }
      }),
      params,
    );
  });

  it('a success was dispatched with the prepared payload; a failed prepare never is', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = run(s);
        const dispatched = new Map(r.connector.memory.dispatched.map((t) => [t.id, t]));
        for (const outcome of r.outcomes) {
          const id = outcome.transaction.id;
          if (outcome.status === 'success') {
            expect(dispatched.has(id), `${id} succeeded but was not dispatched`).to.equal(true);
            expect(outcome.result.id).to.equal(id);
            expect(outcome.result.payload).to.equal(
              s.prepare === null ? outcome.transaction.payload : `${outcome.transaction.payload}!`,
            );
          } else if (
            (outcome.status === 'failed' ||
              outcome.status === 'exception' ||
              outcome.status === 'timeout') &&
            outcome.error.stage === 'prepare'
          ) {
            expect(dispatched.has(id), `${id} failed in prepare but was dispatched`).to.equal(
              false,
            );
          }
        }
      }),
      params,
    );
  });
});
