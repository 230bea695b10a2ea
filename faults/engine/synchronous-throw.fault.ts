import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, type Transaction } from '../../lib/index.js';
import { recordFaultResult } from '../support/fault-result.js';
import { RecordingMemoryConnector } from './support/recording-memory-connector.js';
import { SettlementLedger } from './support/settlement-ledger.js';

const MESSAGES = 500;

/** Thrown from the handler body before it returns anything. */
class HandlerBodyError extends Error {
  constructor(n: number, attempt: number) {
    super(`handler body threw on attempt ${attempt} of ${n}`);
    this.name = 'HandlerBodyError';
  }
}

describe('fault: synchronous throw in the handler body (memory connector)', function () {
  for (const maxAttempts of [2, 1]) {
    const recovers = maxAttempts > 1;
    it(`is a failed attempt like any other: ${recovers ? 'the retry recovers every id' : 'without retries or onException every id is dead-lettered once, stage process'}`, async () => {
      const ledger = new SettlementLedger(Array.from({ length: MESSAGES }, (_, n) => String(n)));
      const connector = new RecordingMemoryConnector(MESSAGES, ledger);
      const task = consumerTask({
        process: (tx: Transaction<number>, { attempt }): number => {
          if (attempt === 1) {
            ledger.processed(tx.id);
            throw new HandlerBodyError(tx.payload, attempt);
          }
          return tx.payload;
        },
      });
      const outcomes = await lastValueFrom(
        consume(connector, task, {
          loop: { mode: 'continuous', concurrency: { value: 8 } },
          process: { retry: { maxAttempts } },
        }).pipe(toArray()),
      );
      recordFaultResult({
        fault: 'leaked rejection / synchronous throw',
        connector: `memory (synchronous throw, maxAttempts ${maxAttempts})`,
        runs: MESSAGES,
        messages: MESSAGES,
        lost: ledger.lost().length,
        duplicates: ledger.duplicates(),
        duplicatesExplained: 'none',
        recoveryMs: null,
        notes: recovers
          ? 'every first attempt threw in the handler body; each was retried and acked'
          : 'every attempt threw in the handler body; each transaction failed (stage process) and was dead-lettered once',
      });

      expect(outcomes).to.have.length(MESSAGES);
      if (recovers) {
        expect(connector.counts).to.deep.equal({ ack: MESSAGES, deadLetter: 0, release: 0 });
      } else {
        expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: MESSAGES, release: 0 });
        for (const outcome of outcomes) {
          expect(outcome.status).to.equal('failed');
          if (outcome.status !== 'failed') continue;
          expect(outcome.error.stage).to.equal('process');
          expect(outcome.error.cause).to.be.instanceOf(HandlerBodyError);
        }
      }
      expect(ledger.lost()).to.deep.equal([]);
      expect(ledger.settledTwice()).to.deep.equal([]);
    });
  }
});
