import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/dlq-redrive.ts', () => {
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('dead-letters the unknown products, lists them, redrives them with their trace, and ships them', function () {
    this.timeout(60_000);
    const run = runExample('dlq-redrive.ts');
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout.trim().split('\n')).to.deep.equal([
      'first run: order-1 success, order-2 failed, order-3 success, order-4 failed',
      'dead letter order-2: TransactionError: process of transaction order-2 failed: Error: unknown sku Z-9 (stage process, 1 delivery)',
      'dead letter order-4: TransactionError: process of transaction order-4 failed: Error: unknown sku Z-9 (stage process, 1 delivery)',
      'redriven: order-2, order-4',
      'order-2 success, delivery 1, same trace: true',
      'order-4 success, delivery 1, same trace: true',
      'dead letters left: 0',
    ]);
  });
});
