import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';
import { testUrl } from './fixtures/queue-fixture.js';

describe('examples/postgres-keyed.ts (real PostgreSQL)', () => {
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('applies every account’s movements in order with two workers', function () {
    this.timeout(60_000);
    const run = runExample('postgres-keyed.ts', ['8'], {
      env: { ...process.env, ERGON_POSTGRES_URL: testUrl },
    });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('40 movements applied, every account in order');
    expect(run.stdout).to.match(/^alice {2}0 1 2 3 4 5 6 7 {2}by /m);
  });
});
