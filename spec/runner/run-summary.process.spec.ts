import { expect } from 'chai';
import { runErgon } from '../cli/support/run-ergon.js';

describe('ergon run with console logging at info', function () {
  this.timeout(60_000);

  it('prints the run summary as the last line of stdout, after the runner’s closing lines', async () => {
    const { code, stdout } = await runErgon(['run', 'spec/runner/fixtures/logged-task.ts']);
    expect(code).to.equal(0);
    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines.some((line) => line.includes('finished with exit code 0'))).to.equal(true);
    const last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(last).to.include({ type: 'summary', processed: 5, failures: 0 });
  });
});
