import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/attempt-spans.ts', import.meta.url));

describe('examples/attempt-spans.ts', () => {
  it("attemptSpans 'onFailure': no attempt span for a first attempt that succeeded, the failed one recorded, the retry's up front", function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout.trim().split('\n')).to.deep.equal([
      'outcomes: success, success, success',
      'tx-1: charge card',
      'tx-2: charge card, process attempt #1 ERROR, process attempt #2',
      'tx-3: charge card',
    ]);
  });
});
