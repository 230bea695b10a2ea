import { expect } from 'chai';
import fc from 'fast-check';
import { concat, ignoreElements, map, NEVER, throwError, timer, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  LoopTimeoutError,
  type ConsumerPolicyInput,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { recordFaultResult } from '../support/fault-result.js';
import {
  settledExactlyOnce,
  statusOf,
  TestConnector,
} from '../../spec/engine/support/test-connector.js';
import { inVirtualTime, now, record } from '../../spec/engine/support/virtual-time.js';

/** What one attempt does, in virtual ms: succeed or fail after `ms`, or hang. */
type Step = { readonly ms: number; readonly result: 'ok' | 'fail' } | 'hang';

function play(step: Step, value: string): Observable<string> {
  if (step === 'hang') return NEVER;
  const wait = timer(step.ms);
  return step.result === 'ok'
    ? wait.pipe(map(() => value))
    : concat(
        wait.pipe(ignoreElements()),
        throwError(() => new Error(`attempt failed`)),
      );
}

interface ScriptedRun {
  readonly connector: TestConnector<string>;
  readonly starts: string[];
  readonly outcomes: Outcome<string>[];
  readonly completedAt: number | null;
  readonly erroredAt: number | null;
  readonly error: unknown;
}

/**
 * Runs `payloads` through `policy` in virtual time; attempt k of a payload plays
 * `steps(payload)[k-1]` (the last step repeats). Stops with `stopAt` if given.
 */
function scripted(
  payloads: readonly string[],
  steps: (payload: string) => readonly Step[],
  policy: ConsumerPolicyInput,
  feeds: readonly { at: number; payloads: readonly string[] }[] = [],
): ScriptedRun {
  return inVirtualTime((_helpers, scheduler) => {
    const connector = new TestConnector<string>({ source: payloads });
    for (const feed of feeds) {
      scheduler.schedule(() => connector.memory.feed(...feed.payloads), feed.at);
    }
    const starts: string[] = [];
    const task = consumerTask({
      process: (tx: Transaction<string>, { attempt }) => {
        starts.push(`${tx.payload}#${attempt}@${now()}`);
        const script = steps(tx.payload);
        return play(script[Math.min(attempt, script.length) - 1] ?? 'hang', tx.payload);
      },
    });
    const run = record(consume(connector, task, policy));
    scheduler.flush();
    return {
      connector,
      starts,
      outcomes: run.values,
      completedAt: run.completedAt,
      erroredAt: run.erroredAt,
      error: run.error,
    };
  });
}

const results = { runs: 0, transactions: 0, settledTwice: 0, dropped: 0 };

function account(run: ScriptedRun, total: number): void {
  const problem = settledExactlyOnce(run.connector);
  if (problem !== null) results.settledTwice++;
  const { ack, deadLetter } = run.connector.memory.counts;
  const dropped = total - ack - deadLetter - run.connector.remaining();
  results.dropped += dropped;
  results.runs++;
  results.transactions += total;
  expect(problem, 'settled exactly once').to.equal(null);
  expect(dropped, 'dropped (neither acked, dead-lettered nor back in the queue)').to.equal(0);
}

describe('fault: virtual-time clock paths', function () {
  after(() =>
    recordFaultResult({
      fault: 'virtual-time clock paths',
      connector: 'memory (TestScheduler)',
      runs: results.runs,
      messages: results.transactions,
      lost: results.dropped,
      duplicates: results.settledTwice,
      duplicatesExplained: 'none (counted here: scenarios where a transaction was settled twice)',
      recoveryMs: null,
      notes:
        'retry backoff at its cap, attempt timeout at a retry boundary, runtime budget at an attempt timeout and inside a backoff, loop timeout as transactions finish, empty-queue backoff fed at fetch times, and a property over all of them on a 10 ms grid',
    }),
  );

  it('retry backoff reaches its cap and stays there; the last failure is dead-lettered once', () => {
    const run = scripted(['a'], () => [{ ms: 10, result: 'fail' }], {
      process: { retry: { maxAttempts: 7, backoff: 100, backoffMultiplier: 2, backoffCap: 300 } },
    });
    // waits 100, 200, 300 (the cap), 300, 300, 300 after each 10 ms attempt
    expect(run.starts).to.deep.equal([
      'a#1@0',
      'a#2@110',
      'a#3@320',
      'a#4@630',
      'a#5@940',
      'a#6@1250',
      'a#7@1560',
    ]);
    expect(run.outcomes.map(statusOf)).to.deep.equal(['failed']);
    expect(run.connector.settles.map((s) => `${s.decision.type}@${s.at}`)).to.deep.equal([
      'deadLetter@1570',
    ]);
    account(run, 1);
  });

  it('an attempt timeout that fires exactly when the retry is due starts one retry, not two', () => {
    const run = scripted(['a'], () => ['hang', { ms: 50, result: 'ok' }], {
      process: { retry: { maxAttempts: 3, timeout: 100, backoff: 0 } },
    });
    expect(run.starts).to.deep.equal(['a#1@0', 'a#2@100']);
    expect(run.outcomes.map(statusOf)).to.deep.equal(['success']);
    expect(run.connector.settles.map((s) => `${s.decision.type}@${s.at}`)).to.deep.equal([
      'ack@150',
    ]);
    account(run, 1);
  });

  it('a handler that finishes at the very instant of its timeout gets one outcome, one settlement', () => {
    const run = scripted(['a', 'b', 'c'], () => [{ ms: 100, result: 'ok' }], {
      loop: { concurrency: { value: 3 } },
      process: { retry: { maxAttempts: 1, timeout: 100 } },
    });
    expect(run.outcomes).to.have.length(3);
    for (const outcome of run.outcomes) expect(['success', 'timeout']).to.include(outcome.status);
    account(run, 3);
  });

  it('the runtime budget expiring exactly at an attempt timeout ends the transaction once, with no further attempt', () => {
    const run = scripted(['a'], () => ['hang'], {
      transactionRuntime: { timeout: 250 },
      process: { retry: { maxAttempts: 5, timeout: 100, backoff: 50 } },
    });
    expect(run.starts).to.deep.equal(['a#1@0', 'a#2@150']);
    expect(run.outcomes.map(statusOf)).to.deep.equal(['timeout']);
    expect(run.connector.settles.map((s) => `${s.decision.type}@${s.at}`)).to.deep.equal([
      'deadLetter@250',
    ]);
    account(run, 1);
  });

  it('the runtime budget expiring during a backoff ends the transaction then, not at the next attempt', () => {
    const run = scripted(['a'], () => ['hang'], {
      transactionRuntime: { timeout: 120 },
      process: { retry: { maxAttempts: 5, timeout: 100, backoff: 50 } },
    });
    expect(run.starts).to.deep.equal(['a#1@0']);
    expect(run.connector.settles.map((s) => `${s.decision.type}@${s.at}`)).to.deep.equal([
      'deadLetter@120',
    ]);
    account(run, 1);
  });

  it('a loop timeout that fires as in-flight transactions finish settles each of them once and releases the rest', () => {
    const payloads = ['a', 'b', 'c', 'd', 'e', 'f'];
    const run = scripted(payloads, () => [{ ms: 500, result: 'ok' }], {
      loop: { mode: 'continuous', concurrency: { value: 2 }, timeout: 1000 },
    });
    expect(run.error).to.be.instanceOf(LoopTimeoutError);
    expect(run.erroredAt).to.equal(1000);
    expect(run.starts.slice(0, 4)).to.deep.equal(['a#1@0', 'b#1@0', 'c#1@500', 'd#1@500']);
    const byStatus = run.outcomes.map(statusOf);
    expect(byStatus.slice(0, 2)).to.deep.equal(['success', 'success']);
    for (const status of byStatus.slice(2)) {
      expect(['success', 'released:loopTimeout']).to.include(status);
    }
    account(run, payloads.length);
  });

  it('empty-queue backoff: work fed at the very instant of a polling fetch is taken, nothing is dropped', () => {
    const run = scripted(
      [],
      () => [{ ms: 0, result: 'ok' }],
      {
        loop: { mode: 'continuous', streaming: true, limit: 4, concurrency: { value: 2 } },
        fetch: { empty: { backoff: 100, backoffMultiplier: 2, backoffCap: 400 } },
      },
      [
        { at: 300, payloads: ['a'] },
        { at: 1500, payloads: ['b', 'c', 'd'] },
      ],
    );
    // polls at 0, 100, 300 (fed then), then again from 100 after the non-empty one
    expect(run.connector.fetchTimes.slice(0, 3)).to.deep.equal([0, 100, 300]);
    expect(run.starts[0]).to.equal('a#1@300');
    expect(run.outcomes.map((o) => o.transaction.payload).sort()).to.deep.equal([
      'a',
      'b',
      'c',
      'd',
    ]);
    expect(run.completedAt).to.be.at.least(1500);
    account(run, 4);
  });

  it('property: on a 10 ms grid where timeouts, backoffs, budgets and loop deadlines collide, no transaction is dropped or settled twice', function () {
    const grid = (max: number): fc.Arbitrary<number> =>
      fc.integer({ min: 1, max }).map((k) => k * 10);
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant<Step>('hang'),
      fc.record({ ms: grid(20), result: fc.constantFrom('ok' as const, 'fail' as const) }),
    );
    fc.assert(
      fc.property(
        fc.record({
          payloads: fc.integer({ min: 1, max: 12 }),
          scripts: fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), {
            minLength: 1,
            maxLength: 5,
          }),
          mode: fc.constantFrom('batch' as const, 'continuous' as const),
          concurrency: fc.integer({ min: 1, max: 4 }),
          maxAttempts: fc.integer({ min: 1, max: 4 }),
          timeout: fc.option(grid(15), { nil: null }),
          backoff: fc.integer({ min: 0, max: 10 }).map((k) => k * 10),
          backoffCap: fc.option(grid(10), { nil: null }),
          budget: fc.option(grid(40), { nil: null }),
          loopTimeout: fc.option(grid(80), { nil: null }),
          streaming: fc.boolean(),
          feedAt: fc.option(grid(60), { nil: null }),
        }),
        (s) => {
          const payloads = Array.from({ length: s.payloads }, (_, i) => `p${i}`);
          const fed = s.feedAt === null ? [] : [{ at: s.feedAt, payloads: ['late0', 'late1'] }];
          const total = payloads.length + (fed.length === 0 ? 0 : 2);
          const scriptOf = (payload: string): readonly Step[] =>
            s.scripts[Number(payload.replace(/\D/g, '')) % s.scripts.length] ?? ['hang'];
          // A hang with no timeout, budget nor loop deadline never ends: that is the
          // handler's choice, not a clock path.
          const bounded = s.timeout !== null || s.budget !== null || s.loopTimeout !== null;
          fc.pre(bounded);
          // A streaming loop ends only by its deadline.
          fc.pre(!s.streaming || s.loopTimeout !== null);
          const run = scripted(
            payloads,
            scriptOf,
            {
              loop: {
                mode: s.mode,
                concurrency: { value: s.concurrency },
                timeout: s.loopTimeout,
                streaming: s.streaming,
              },
              fetch: { empty: { backoff: 10, backoffCap: 40 } },
              transactionRuntime: { timeout: s.budget },
              process: {
                retry: {
                  maxAttempts: s.maxAttempts,
                  timeout: s.timeout,
                  backoff: s.backoff,
                  backoffCap: s.backoffCap,
                },
              },
            },
            fed,
          );
          expect(run.completedAt !== null || run.erroredAt !== null, 'the run ended').to.equal(
            true,
          );
          if (run.erroredAt !== null) expect(run.error).to.be.instanceOf(LoopTimeoutError);
          account(run, total);
        },
      ),
      { numRuns: 600 },
    );
  });
});
