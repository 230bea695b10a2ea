import { expect } from 'chai';
import { parseDashboardAddress } from '../../lib/cli/commands/run-command.js';
import { CliUsageError } from '../../lib/cli/cli-errors.js';
import { runErgon } from './support/run-ergon.js';

describe('ergon run --dashboard [host]:port', () => {
  it('reads :port, port, host:port and [ipv6]:port', () => {
    expect(parseDashboardAddress(':9400')).to.deep.equal({ port: 9400 });
    expect(parseDashboardAddress('9400')).to.deep.equal({ port: 9400 });
    expect(parseDashboardAddress('0.0.0.0:9400')).to.deep.equal({ host: '0.0.0.0', port: 9400 });
    expect(parseDashboardAddress('[::]:0')).to.deep.equal({ host: '::', port: 0 });
  });

  it('refuses anything else with a usage error naming the form', () => {
    for (const bad of ['', ':', 'host', ':99999', '::9400', 'a:b:9400', ':94oo']) {
      expect(() => parseDashboardAddress(bad), bad).to.throw(CliUsageError, '[host]:port');
    }
  });

  it('runs a task with the dashboard on (exit 0), and exits 2 for a bad address', async function () {
    this.timeout(60_000); // two child processes under tsx
    const ok = await runErgon(['run', 'spec/cli/fixtures/orders-task.ts', '--dashboard', ':0']);
    expect(ok.code, ok.stderr).to.equal(0);
    const bad = await runErgon(['run', 'spec/cli/fixtures/orders-task.ts', '--dashboard', 'x']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--dashboard expects [host]:port');
  });
});
