import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/cron-report.ts', () => {
  before(async function () {
    await requireService(this, 'postgres');
  });

  it('two workers sharing a PostgreSQL tick store run each second’s report once', function () {
    this.timeout(60_000);
    const run = runExample('cron-report.ts', ['3']);
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    const reports = lines.filter((line) => / ran the sales report of /.test(line));
    const ticks = reports.map((line) => line.slice(line.lastIndexOf(' ') + 1));
    expect(ticks.length).to.be.at.least(2);
    expect(new Set(ticks).size).to.equal(ticks.length);
    for (const tick of ticks) expect(tick).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(lines.at(-1)).to.equal(`ticks run: ${ticks.length}, each once: true`);
  });
});
