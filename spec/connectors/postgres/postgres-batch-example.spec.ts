import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/postgres-batch-insert.ts', () => {
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('writes every valid reading in a few multi-row INSERTs and isolates the three bad ones', function () {
    this.timeout(60_000);
    const run = runExample('postgres-batch-insert.ts', ['1600']);
    expect(run.status, run.stderr).to.equal(0);
    const [written, rejected, settlements] = run.stdout.trim().split('\n');
    const statements = Number(/in (\d+) INSERT statements$/.exec(written ?? '')?.[1]);
    expect(written).to.match(/^1597 of 1600 readings written in \d+ INSERT statements$/);
    // 8 batches of 200, plus, per bad reading, at most 8 halvings: the failing half twice
    // (one retry), the good half once.
    expect(statements).to.be.within(8, 8 + 3 * 3 * 9);
    expect(rejected?.match(/999 °C/g)).to.have.length(3);
    expect(settlements).to.equal('settlements: { ack: 1600, deadLetter: 0, release: 0 }');
  });
});
