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

/** A memory connector whose settle fails for chosen transactions. */
class FlakySettleConnector extends MemoryConnector<number> {
  constructor(
    source: number[],
    private readonly failure: (transaction: Transaction<number>) => unknown,
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
