import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/sqs-orders.ts', () => {
  before(async function () {
    await requireService(this, 'elasticmq');
  });

  it('ships every order but the broken one, which is dead-lettered with its error', function () {
    this.timeout(60_000);
    const run = runExample('sqs-orders.ts', ['60']);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('sent 60 of 60 orders\n');
    expect(run.stdout).to.include('outcomes: {"failed":1,"success":59}\n');
    expect(run.stdout).to.match(/dead letter order-13: .*order 13: no such sku sku-6/);
  });
});
