import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, type Transaction } from '../../lib/index.js';
import { recordFaultResult } from '../support/fault-result.js';
import { RecordingMemoryConnector } from './support/recording-memory-connector.js';
import { seededRandom } from './support/seeded-random.js';
import { SettlementLedger } from './support/settlement-ledger.js';

const MESSAGES = 3000;
const FAILURE_RATE = 0.2;
const MAX_ATTEMPTS = 10;
const SEED = 20261127;

/** An attempt's planned failure: thrown in the handler body, or a rejected promise. */
type Failure = 'sync-throw' | 'rejection';

class IntermittentFailure extends Error {
  constructor(
    readonly kind: Failure,
    n: number,
    attempt: number,
  ) {
    super(`attempt ${attempt} of ${n} failed (${kind})`);
    this.name = 'IntermittentFailure';
  }
}

describe('fault: handler throws intermittently (memory connector)', function () {
  it(`${FAILURE_RATE * 100} % of attempts fail at random (thrown synchronously or rejected): retries with backoff recover every id, outcome counts exact`, async () => {
    const random = seededRandom(SEED);
    const ledger = new SettlementLedger(Array.from({ length: MESSAGES }, (_, n) => String(n)));
    const failures = new Map<number, Failure[]>();
    const attemptsSeen = new Map<number, number[]>();
    let failedAttempts = 0;
    let firstFailureAt: number | undefined;
    let recoveredAt: number | undefined;
    const connector = new RecordingMemoryConnector(MESSAGES, ledger, (at) => {
      if (firstFailureAt !== undefined) recoveredAt ??= at;
    });
    const task = consumerTask({
      process: (tx: Transaction<number>, { attempt }) => {
        const n = tx.payload;
        if (attempt === 1) ledger.processed(tx.id);
        attemptsSeen.set(n, [...(attemptsSeen.get(n) ?? []), attempt]);
        if (random() >= FAILURE_RATE) return Promise.resolve(n);
        failedAttempts++;
        firstFailureAt ??= Date.now();
        const kind: Failure = random() < 0.5 ? 'sync-throw' : 'rejection';
        failures.set(n, [...(failures.get(n) ?? []), kind]);
        const error = new IntermittentFailure(kind, n, attempt);
        if (kind === 'sync-throw') throw error;
        return Promise.reject(error);
      },
    });
    const started = Date.now();
    const outcomes = await lastValueFrom(
      consume(connector, task, {
        loop: { mode: 'continuous', concurrency: { value: 16 } },
        process: {
          retry: {
            maxAttempts: MAX_ATTEMPTS,
            backoff: 1,
            backoffMultiplier: 2,
            backoffCap: 8,
            jitter: 'full',
          },
        },
      }).pipe(toArray()),
    );
    const elapsed = Date.now() - started;

    const syncThrows = [...failures.values()].flat().filter((k) => k === 'sync-throw').length;
    recordFaultResult({
      fault: 'handler throws intermittently',
      connector: 'memory',
      runs: failedAttempts,
      messages: MESSAGES,
      lost: ledger.lost().length,
      duplicates: ledger.duplicates(),
      duplicatesExplained: 'none (retries are attempts of one delivery, not redeliveries)',
      recoveryMs: (recoveredAt ?? Number.NaN) - (firstFailureAt ?? Number.NaN),
      notes: `${failedAttempts} failed attempts (${syncThrows} synchronous throws in the handler body, the rest rejections) of ${MESSAGES + failedAttempts}; every id acked after at most ${Math.max(...[...failures.values()].map((f) => f.length)) + 1} attempts; ${elapsed} ms; seed ${SEED}`,
    });

    expect(outcomes).to.have.length(MESSAGES);
    expect(outcomes.filter((o) => o.status === 'success')).to.have.length(MESSAGES);
    expect(connector.counts).to.deep.equal({ ack: MESSAGES, deadLetter: 0, release: 0 });
    expect(syncThrows, 'synchronous throws happened and were retried').to.be.greaterThan(100);
    expect(failedAttempts / (MESSAGES + failedAttempts)).to.be.closeTo(FAILURE_RATE, 0.03);
    for (let n = 0; n < MESSAGES; n++) {
      const failed = failures.get(n)?.length ?? 0;
      const attempts = Array.from({ length: failed + 1 }, (_, i) => i + 1);
      expect(attemptsSeen.get(n), `attempts of ${n}`).to.deep.equal(attempts);
    }
    expect(ledger.lost(), 'lost').to.deep.equal([]);
    expect(ledger.settledTwice(), 'settled twice').to.deep.equal([]);
    expect(ledger.endedAs('ack')).to.have.length(MESSAGES);
  });
});
