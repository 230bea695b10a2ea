import { expect } from 'chai';
import { lastValueFrom, NEVER, finalize, toArray, type Observable } from 'rxjs';
import { consume, consumerTask, type Outcome, type Transaction } from '../../lib/index.js';
import { recordFaultResult } from '../support/fault-result.js';
import { Gauge } from '../../spec/engine/support/virtual-time.js';
import { RecordingMemoryConnector } from './support/recording-memory-connector.js';
import { SettlementLedger } from './support/settlement-ledger.js';

const MESSAGES = 400;
const CONCURRENCY = 8;
const TIMEOUT_MS = 150;
const WORK_MS = 5;

/** The ids that hang: the first CONCURRENCY (they fill every slot at once), then every 25th. */
function hangs(n: number): boolean {
  return n < CONCURRENCY || n % 25 === 0;
}

interface HangRun {
  readonly outcomes: Outcome<number>[];
  readonly ledger: SettlementLedger;
  readonly aborted: number;
  readonly unsubscribed: number;
  readonly fastPeak: number;
  readonly recoveryMs: number;
}

async function runHangs(handled: boolean): Promise<HangRun> {
  const ledger = new SettlementLedger(Array.from({ length: MESSAGES }, (_, n) => String(n)));
  const fast = new Gauge();
  let aborted = 0;
  let unsubscribed = 0;
  let firstTimeoutAt: number | undefined;
  let firstSettleAfterTimeout: number | undefined;
  const connector = new RecordingMemoryConnector(MESSAGES, ledger, (at) => {
    if (firstTimeoutAt !== undefined) firstSettleAfterTimeout ??= at;
  });
  const task = consumerTask({
    process: (tx: Transaction<number>, { signal }): Observable<number> | Promise<number> => {
      ledger.processed(tx.id);
      if (!hangs(tx.payload)) {
        fast.enter();
        return new Promise((resolve) =>
          setTimeout(() => {
            fast.exit();
            resolve(tx.payload);
          }, WORK_MS),
        );
      }
      signal.addEventListener('abort', () => {
        aborted++;
        firstTimeoutAt ??= Date.now();
      });
      // Odd hanging ids hang as an Observable (it must be unsubscribed), even ones as a
      // Promise that never settles (only the signal can tell it to stop).
      return tx.payload % 2 === 1
        ? NEVER.pipe(
            finalize(() => {
              unsubscribed++;
            }),
          )
        : new Promise<never>(() => undefined);
    },
    ...(handled ? { onException: () => 'parked' } : {}),
  });
  const outcomes = await lastValueFrom(
    consume(connector, task, {
      loop: { mode: 'continuous', concurrency: { value: CONCURRENCY } },
      process: { retry: { maxAttempts: 1, timeout: TIMEOUT_MS } },
    }).pipe(toArray()),
  );
  return {
    outcomes,
    ledger,
    aborted,
    unsubscribed,
    fastPeak: fast.peak,
    recoveryMs: (firstSettleAfterTimeout ?? Number.NaN) - (firstTimeoutAt ?? Number.NaN),
  };
}

describe('fault: handler hangs (memory connector)', function () {
  const hanging = Array.from({ length: MESSAGES }, (_, n) => n).filter(hangs);
  const hangingObservables = hanging.filter((n) => n % 2 === 1).length;

  for (const handled of [true, false]) {
    const settledAs = handled ? 'ack' : 'deadLetter';
    it(`the timeout cancels each hung attempt, frees its slot, and the hung ids are settled with ${settledAs}${handled ? ' (onException handles them)' : ' (no onException)'}`, async () => {
      const started = Date.now();
      const run = await runHangs(handled);
      const elapsed = Date.now() - started;
      recordFaultResult({
        fault: 'handler hangs',
        connector: handled ? 'memory (onException handles)' : 'memory (no onException)',
        runs: hanging.length,
        messages: MESSAGES,
        lost: run.ledger.lost().length,
        duplicates: run.ledger.duplicates(),
        duplicatesExplained: 'none',
        recoveryMs: run.recoveryMs,
        notes: `${hanging.length} hung attempts (${hangingObservables} Observables unsubscribed, all ${run.aborted} signals aborted) timed out after ${TIMEOUT_MS} ms and were settled with ${settledAs}; peak concurrency afterwards ${run.fastPeak}/${CONCURRENCY}; ${elapsed} ms in all`,
      });

      const timeouts = run.outcomes.filter((o) => o.status === 'timeout');
      expect(timeouts.map((o) => o.transaction.payload).sort((a, b) => a - b)).to.deep.equal(
        hanging,
      );
      for (const outcome of timeouts) {
        expect(outcome.status === 'timeout' && outcome.handled).to.equal(handled);
      }
      expect(run.outcomes.filter((o) => o.status === 'success')).to.have.length(
        MESSAGES - hanging.length,
      );
      expect(run.aborted, 'every hung attempt saw its signal abort').to.equal(hanging.length);
      expect(run.unsubscribed, 'every hung Observable was unsubscribed').to.equal(
        hangingObservables,
      );
      expect(run.fastPeak, 'after the hung slots were freed, all slots were used again').to.equal(
        CONCURRENCY,
      );
      // Slots held for the whole run would serialise the work behind the hangs: the run stays
      // near the timeouts it cannot avoid plus the work spread over every slot.
      const floor = Math.ceil(hanging.length / CONCURRENCY) * TIMEOUT_MS;
      expect(elapsed).to.be.below(floor + 3000);

      expect(run.ledger.lost(), 'lost').to.deep.equal([]);
      expect(run.ledger.settledTwice(), 'settled twice').to.deep.equal([]);
      expect(run.ledger.endedAs(settledAs).sort(), 'settled as the policy says').to.include.members(
        hanging.map(String),
      );
      expect(run.ledger.duplicates()).to.equal(0);
    });
  }

  it('a hung handler that wakes up after its timeout (ignoring its signal) changes nothing: one outcome, one settlement', async () => {
    const ledger = new SettlementLedger(Array.from({ length: 64 }, (_, n) => String(n)));
    const connector = new RecordingMemoryConnector(64, ledger);
    let lateResults = 0;
    const task = consumerTask({
      process: (tx: Transaction<number>) =>
        new Promise<number>((resolve, reject) =>
          setTimeout(
            () => {
              lateResults++;
              if (tx.payload % 2 === 0) resolve(tx.payload);
              else reject(new Error(`late failure of ${tx.payload}`));
            },
            tx.payload % 4 < 2 ? 3 * TIMEOUT_MS : TIMEOUT_MS / 10,
          ),
        ),
    });
    const outcomes = await lastValueFrom(
      consume(connector, task, {
        loop: { mode: 'continuous', concurrency: { value: CONCURRENCY } },
        process: { retry: { maxAttempts: 1, timeout: TIMEOUT_MS } },
      }).pipe(toArray()),
    );
    // let every late result land before looking
    await new Promise((resolve) => setTimeout(resolve, 4 * TIMEOUT_MS));
    expect(lateResults).to.equal(64);
    expect(outcomes).to.have.length(64);
    const late = outcomes.filter((o) => o.transaction.payload % 4 < 2);
    expect(late.every((o) => o.status === 'timeout')).to.equal(true);
    expect(ledger.lost()).to.deep.equal([]);
    expect(ledger.settledTwice()).to.deep.equal([]);
    expect(connector.counts.ack + connector.counts.deadLetter).to.equal(64);
  });
});
