import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  DeliveryLostError,
  MemoryConnector,
  type SettleDecision,
  type Transaction,
} from '../../lib/index.js';
import { keptLogger } from './support/kept-logger.js';

/** A memory connector whose settle fails for chosen transactions. */
class FlakySettleConnector extends MemoryConnector<number> {
  constructor(
    source: number[],
    private readonly failure: (transaction: Transaction<number>) => Error | undefined,
  ) {
    super({ source });
  }

  override settle(transaction: Transaction<number>, decision: SettleDecision): void {
    super.settle(transaction, decision);
    const error = this.failure(transaction);
    if (error !== undefined) throw error;
  }
}

describe('settlement failures', () => {
  const task = consumerTask({ process: (tx: Transaction<number>) => tx.payload * 2 });

  it('a lost delivery (DeliveryLostError) is reported released with reason connectionLost', async () => {
    const lost = new DeliveryLostError('channel closed before ack');
    const connector = new FlakySettleConnector([1, 2, 3], (tx) =>
      tx.payload === 2 ? lost : undefined,
    );
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    const second = outcomes.find((outcome) => outcome.transaction.payload === 2);
    expect(second).to.deep.include({ status: 'released', reason: 'connectionLost' });
    expect(second?.settleError).to.equal(lost);
    expect(outcomes.filter((outcome) => outcome.status === 'success')).to.have.length(2);
  });

  it('a lost delivery is said in one warn line, with the words "broker will redeliver" (reference parity)', async () => {
    const { logger, lines } = keptLogger(['warn']);
    const connector = new FlakySettleConnector([1, 2, 3], (tx) =>
      tx.payload === 2 ? new DeliveryLostError('channel closed before ack') : undefined,
    );
    const logged = consumerTask({ process: (tx: Transaction<number>) => tx.payload, logger });
    const outcomes = await lastValueFrom(consume(connector, logged).pipe(toArray()));
    const id = outcomes.find((outcome) => outcome.transaction.payload === 2)?.transaction.id;
    expect(lines).to.deep.equal([
      `transaction ${String(id)} could not be settled, its delivery was lost; the broker will redeliver it: DeliveryLostError: channel closed before ack`,
    ]);
  });

  it('any other settle failure keeps the outcome and carries settleError', async () => {
    const broken = new Error('ack timed out');
    const connector = new FlakySettleConnector([1, 2], (tx) =>
      tx.payload === 1 ? broken : undefined,
    );
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    const first = outcomes.find((outcome) => outcome.transaction.payload === 1);
    expect(first).to.deep.include({ status: 'success', result: 2 });
    expect(first?.settleError).to.equal(broken);
  });
});

describe('settlements that call back more than once', () => {
  /** A connector whose settle returns a thenable that calls back twice, as `twice` says. */
  class TwiceSettle extends MemoryConnector<number> {
    constructor(
      source: number[],
      private readonly twice: (resolve: () => void, reject: (error: unknown) => void) => void,
    ) {
      super({ source });
    }

    override settle(transaction: Transaction<number>, decision: SettleDecision): never {
      super.settle(transaction, decision);
      return { then: this.twice } as never;
    }
  }

  const behaviours: Record<string, (resolve: () => void, reject: (e: unknown) => void) => void> = {
    'resolves twice at once': (resolve) => {
      resolve();
      resolve();
    },
    'resolves twice later': (resolve) => {
      setTimeout(resolve, 1);
      setTimeout(resolve, 2);
    },
    'resolves, then rejects': (resolve, reject) => {
      resolve();
      setTimeout(() => reject(new Error('late')), 1);
    },
    'resolves, then throws from then': (resolve) => {
      resolve();
      throw new Error('then threw after resolving');
    },
  };

  for (const [name, behaviour] of Object.entries(behaviours)) {
    it(`a settle thenable that ${name} counts once: one outcome each, concurrency held`, async () => {
      const concurrency = 2;
      let running = 0;
      let peak = 0;
      const task = consumerTask({
        process: async (tx: Transaction<number>) => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
          return tx.payload;
        },
      });
      const connector = new TwiceSettle([1, 2, 3, 4, 5, 6, 7, 8], behaviour);
      const outcomes = await lastValueFrom(
        consume(connector, task, {
          loop: { mode: 'continuous', concurrency: { value: concurrency } },
        }).pipe(toArray()),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      const ids = outcomes.map((outcome) => outcome.transaction.id);
      expect(ids).to.have.length(8);
      expect(new Set(ids).size).to.equal(8);
      expect(outcomes.every((outcome) => outcome.status === 'success')).to.equal(true);
      expect(outcomes.every((outcome) => outcome.settleError === undefined)).to.equal(true);
      expect(peak).to.be.at.most(concurrency);
      expect(connector.counts.ack).to.equal(8);
    });
  }
});
