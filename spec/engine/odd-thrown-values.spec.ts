import { expect } from 'chai';
import log from 'loglevel';
import { format } from 'node:util';
import sinon from 'sinon';
import { lastValueFrom, NEVER, Observable, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  describeError,
  MemoryConnector,
  TransactionError,
  type Outcome,
  type SettleDecision,
  type Transaction,
} from '../../lib/index.js';
import { describeErrorType, describeValue, errorParts } from '../../lib/core/renderers.js';
import { serializeThreadError } from '../../lib/engine/thread-pool/thread-errors.js';
import { createLogRecord, loggedError } from '../../lib/telemetry/logging/log-record.js';
import { oddValues } from './support/odd-values.js';
import { exceptions, installOtel, isError, type InstalledOtel } from './telemetry/support/otel.js';

/** Collects unhandled rejections while a spec runs (mocha would only report the first). */
function watchRejections(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  return { seen, stop: () => process.off('unhandledRejection', listener) };
}

/** Lets pending promise reactions and rejection tracking run. */
const settleDown = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(
  process: (tx: Transaction<number>) => unknown,
  more: { onException?: () => unknown; connector?: MemoryConnector<number> } = {},
): Promise<Outcome<number>[]> {
  const connector = more.connector ?? new MemoryConnector({ source: [1, 2] });
  const task = consumerTask<number>({
    process,
    onException: more.onException,
  });
  return lastValueFrom(
    consume(connector, task, {
      loop: { concurrency: { value: 2 } },
      process: { retry: { maxAttempts: 2 } },
    }).pipe(toArray()),
  );
}

describe('odd thrown values', () => {
  let rejections: ReturnType<typeof watchRejections>;
  beforeEach(() => {
    rejections = watchRejections();
  });
  afterEach(async () => {
    await settleDown();
    rejections.stop();
    expect(rejections.seen, 'unhandled rejections').to.deep.equal([]);
  });

  describe('every description is total', () => {
    for (const [name, make] of Object.entries(oddValues)) {
      it(`describes ${name} without throwing`, () => {
        const texts = [
          describeError(make()),
          describeValue(make()),
          describeErrorType(make()),
          TransactionError.wrap(make(), { transactionId: 't-1', stage: 'process' }).message,
          serializeThreadError(make()).message,
        ];
        for (const text of texts) expect(text).to.be.a('string').and.not.equal('');
        const odd = make();
        if (errorParts(odd) !== undefined) {
          expect(loggedError(odd as Error).message).to.be.a('string');
        }
        const record = createLogRecord('warn', 'spec', ['failed', odd, make()], undefined);
        expect(record.message).to.be.a('string');
      });
    }

    it('says when a message could not be read, and keeps the type', () => {
      expect(describeError(oddValues['an Error whose message getter throws']!())).to.equal(
        'Error (its message could not be read)',
      );
      expect(describeError(oddValues['an Error whose name getter throws']!())).to.equal(
        'RangeError: out of range',
      );
    });
  });

  for (const [name, make] of Object.entries(oddValues)) {
    describe(name, () => {
      it('thrown synchronously: each transaction fails once, the loop goes on', async () => {
        const outcomes = await run(() => {
          throw make();
        });
        expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed', 'failed']);
        for (const outcome of outcomes) {
          expect((outcome as { error: TransactionError }).error).to.be.instanceOf(TransactionError);
        }
      });

      it('rejected asynchronously: each transaction fails once (no unhandled rejection)', async () => {
        const outcomes = await run(() => Promise.reject(make()));
        expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed', 'failed']);
      });

      it('thrown by onException too: failed with a handler error', async () => {
        const outcomes = await run(
          () => {
            throw make();
          },
          {
            onException: () => {
              throw make();
            },
          },
        );
        expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed', 'failed']);
        expect(outcomes.every((outcome) => 'handlerError' in outcome)).to.equal(true);
      });

      it('thrown by settle: the outcome carries it as settleError', async () => {
        class ThrowingSettle extends MemoryConnector<number> {
          override settle(transaction: Transaction<number>, decision: SettleDecision): void {
            super.settle(transaction, decision);
            throw make();
          }
        }
        const outcomes = await run((tx) => tx.payload, {
          connector: new ThrowingSettle({ source: [1, 2] }),
        });
        expect(outcomes).to.have.length(2);
        expect(outcomes.every((outcome) => outcome.settleError !== undefined)).to.equal(true);
      });
    });
  }

  it('a handler returning a revoked Proxy or a thenable whose then throws fails the attempt', async () => {
    for (const name of [
      'a revoked Proxy',
      'a thenable whose then getter throws',
      'a thenable whose then throws',
    ]) {
      const outcomes = await run(() => oddValues[name]!());
      expect(
        outcomes.map((outcome) => outcome.status),
        name,
      ).to.deep.equal(['failed', 'failed']);
    }
  });

  it('a settle returning a revoked Proxy or a throwing thenable ends with a settleError', async () => {
    for (const name of [
      'a revoked Proxy',
      'a thenable whose then getter throws',
      'a thenable whose then throws',
    ]) {
      class OddSettle extends MemoryConnector<number> {
        override settle(transaction: Transaction<number>, decision: SettleDecision): never {
          super.settle(transaction, decision);
          return oddValues[name]!() as never;
        }
      }
      const outcomes = await run((tx) => tx.payload, { connector: new OddSettle({ source: [1] }) });
      expect(outcomes, name).to.have.length(1);
      expect(outcomes[0]!.settleError, name).to.not.equal(undefined);
    }
  });

  it('a fetch failing with an odd value ends the run with a FetchError that describes it', async () => {
    const connector = {
      fetch: () =>
        new Observable<Transaction<number>>((subscriber) =>
          subscriber.error(oddValues['a revoked Proxy of an Error']!()),
        ),
    };
    const task = consumerTask({ process: () => NEVER });
    const error = await lastValueFrom(consume(connector, task)).catch((caught: unknown) => caught);
    expect(describeError(error)).to.match(/^FetchError: fetch failed: /);
  });

  describe('with logging to the console and tracing on', () => {
    let otel: InstalledOtel;
    let warn: sinon.SinonStub;
    let error: sinon.SinonStub;
    beforeEach(() => {
      otel = installOtel();
      // Formats as the console does (and throws where it does: an Error whose getters throw).
      warn = sinon.stub(console, 'warn').callsFake((...args: unknown[]) => void format(...args));
      error = sinon.stub(console, 'error').callsFake((...args: unknown[]) => void format(...args));
      log.getLogger('ergon.consumer').setLevel('warn');
    });
    afterEach(async () => {
      log.getLogger('ergon.consumer').setLevel('silent');
      warn.restore();
      error.restore();
      await otel.release();
    });

    for (const [name, make] of Object.entries(oddValues)) {
      it(`logs and records ${name} as an ordinary failure`, async () => {
        const outcomes = await run(() => Promise.reject(make()));
        expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed', 'failed']);
        const retried = warn.getCalls().filter((call) => !call.threw());
        expect(retried, 'one warn line per attempt that is retried').to.have.length(2);
        const failed = error.getCalls().filter((call) => !call.threw());
        expect(failed, 'one error line per transaction that failed for good').to.have.length(2);
        const attempts = otel.spans().filter((span) => span.name === 'process attempt');
        expect(attempts).to.have.length(4);
        for (const span of attempts) {
          expect(isError(span)).to.equal(true);
          expect(exceptions(span)).to.have.length(1);
        }
      });
    }
  });
});
