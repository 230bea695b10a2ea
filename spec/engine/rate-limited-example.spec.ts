import { expect } from 'chai';
import { runExample } from '../support/run-example.js';

describe('examples/rate-limited-http.ts', () => {
  it('succeeds with 429 pauses, then without a 429 under loop.rateLimit', function () {
    this.timeout(60_000);
    const run = runExample('rate-limited-http.ts', ['300']);
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    const unlimited = lines.find((line) => line.startsWith('without loop.rateLimit:'));
    const limited = lines.find((line) => line.startsWith('with loop.rateLimit 100/s:'));
    expect(unlimited).to.match(/ [1-9]\d* × 429, highest attempt 1 of 3, outcomes: 300 success$/);
    expect(limited).to.match(
      /, 300 requests, 0 × 429, highest attempt 1 of 3, outcomes: 300 success$/,
    );
    expect(lines.at(-1)).to.equal('every transaction succeeded in both runs: true');
  });
});
