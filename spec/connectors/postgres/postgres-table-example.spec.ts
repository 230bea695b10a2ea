import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { testUrl } from './fixtures/queue-fixture.js';
import { runExample } from '../../support/run-example.js';

describe('examples/postgres-table.ts (real PostgreSQL)', function () {
  this.timeout(60_000);
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('two workers send every open invoice once and mark the one without an email failed', () => {
    const run = runExample('postgres-table.ts', [testUrl]);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout.trim().split('\n')).to.deep.equal([
      'invoice 1: sent',
      'invoice 2: failed (process of transaction 2 failed: NonRetryableError: invoice 2: customer Grace has no email)',
      'invoice 3: sent',
      'invoice 4: sent',
      '4 outcomes',
    ]);
  });
});
