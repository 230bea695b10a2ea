import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/retry-later.ts', () => {
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('applies every payment, none before its invoice or notBefore, within the concurrency, urgent first', function () {
    this.timeout(90_000);
    const run = runExample('retry-later.ts', ['120'], { timeout: 80_000 });
    expect(run.status, run.stderr).to.equal(0);
    const [applied, handedBack, early, peak, urgent] = run.stdout.trim().split('\n');
    expect(applied).to.match(/^122 of 122 payments applied, \d+ outcomes$/);
    expect(handedBack).to.match(/^[1-9]\d* payments handed back with RetryLaterError\(250 ms\)/);
    expect(early).to.match(/: 0$/);
    expect(peak).to.match(/^at most [1-8] payments ran at once \(concurrency 8\)$/);
    expect(urgent).to.equal('urgent (priority 9) claimed in the first fetch: true');
  });
});
