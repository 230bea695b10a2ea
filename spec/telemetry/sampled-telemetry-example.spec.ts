import { expect } from 'chai';
import { runExample } from '../support/run-example.js';

describe('examples/sampled-telemetry.ts', () => {
  it('traces whole batches only, counts and times every transaction, logs to the daily file', function () {
    this.timeout(60_000);
    const run = runExample('sampled-telemetry.ts', ['20000']);
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).to.equal('transactions: 20000');
    const traced = Number(/: (\d+)$/.exec(lines[1] ?? '')?.[1]);
    expect(traced % 100, 'sampled per batch: all of a batch or none').to.equal(0);
    expect(traced, 'about 1 %, far from all').to.be.below(2000);
    expect(lines.slice(2, 5)).to.deep.equal([
      'counted in consumer.transactions.total: 20000',
      'timed in consumer.transactions.duration: 20000',
      'log files: readings.log',
    ]);
    expect(lines[5]).to.match(/^last log line: \{.*"message":"run finished".*"outcomes":20000\}$/);
  });
});
