import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/keyed-orders.ts', import.meta.url));

describe('examples/keyed-orders.ts', () => {
  it('applies every customer’s events in order, retries included', function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.filter((line) => line.endsWith(': created → paid → shipped'))).to.have.length(5);
    expect(lines.at(-1)).to.match(/every customer in order: true$/);
  });
});
