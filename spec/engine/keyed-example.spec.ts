import { expect } from 'chai';
import { runExample } from '../support/run-example.js';

describe('examples/keyed-orders.ts', () => {
  it('applies every customer’s events in order, retries included', function () {
    this.timeout(60_000);
    const run = runExample('keyed-orders.ts');
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.filter((line) => line.endsWith(': created → paid → shipped'))).to.have.length(5);
    expect(lines.at(-1)).to.match(/every customer in order: true$/);
  });
});
