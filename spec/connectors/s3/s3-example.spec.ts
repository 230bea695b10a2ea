import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/s3-inbox.ts', () => {
  before(async function () {
    await requireService(this, 's3');
  });

  it('processes both files line by line, moves them to done/ and writes the bad line to failed/', function () {
    this.timeout(60_000);
    const run = runExample('s3-inbox.ts', ['20']);
    expect(run.status, run.stderr).to.equal(0);
    // 40 readings of 20 + (n % 5), but for the impossible one (n = 7 of the second file: 22).
    expect(run.stdout).to.include(
      `40 readings, 1 failed, sum ${2 * 4 * (20 + 21 + 22 + 23 + 24) - 22}\n`,
    );
    expect(run.stdout).to.include('done: 2 files\n');
    expect(run.stdout).to.match(/failed line 8: .*impossible reading: 999/);
  });
});
