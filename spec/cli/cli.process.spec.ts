import { expect } from 'chai';
import { jsonLines, runErgon } from './support/run-ergon.js';

const fixture = 'spec/cli/fixtures/orders-task.ts';

describe('ergon CLI in a child process', () => {
  describe('run', () => {
    it('runs the default export to completion and prints a JSON summary when not a TTY', async () => {
      const { code, stdout } = await runErgon(['run', fixture]);
      expect(code).to.equal(0);
      const lines = jsonLines(stdout);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ type: 'summary', processed: 4, failures: 1 });
      expect(lines[0]?.['statuses']).to.include({ success: 3, failed: 1 });
    });

    it('runs a named export with --workers, without progress for a Promise run', async () => {
      const { code, stdout } = await runErgon(['run', `${fixture}#quiet`, '--workers', '1']);
      expect(code).to.equal(0);
      expect(stdout).to.equal('');
    });

    it('prints nothing with --no-progress', async () => {
      const { code, stdout } = await runErgon(['run', fixture, '--no-progress']);
      expect(code).to.equal(0);
      expect(stdout).to.equal('');
    });

    it('exits 2 for an export that is not a task definition', async () => {
      const { code, stderr } = await runErgon(['run', `${fixture}#notATask`]);
      expect(code).to.equal(2);
      expect(stderr).to.include('TaskModuleError').and.include('not a task definition');
    });

    it('exits 2 for a missing export, naming the exports', async () => {
      const { code, stderr } = await runErgon(['run', `${fixture}#missing`]);
      expect(code).to.equal(2);
      expect(stderr).to.include('has no export "missing"').and.include('consumers');
    });

    it('exits 2 for a module that cannot be imported', async () => {
      const { code, stderr } = await runErgon(['run', 'spec/cli/fixtures/nowhere.ts']);
      expect(code).to.equal(2);
      expect(stderr).to.include('cannot import it');
    });

    it('exits 2 for a bad --workers value', async () => {
      const { code, stderr } = await runErgon(['run', fixture, '--workers', 'zero']);
      expect(code).to.equal(2);
      expect(stderr).to.include('--workers must be an integer');
    });
  });

  describe('list', () => {
    it('lists the exported task definitions as JSON', async () => {
      const { code, stdout } = await runErgon(['list', fixture, '--json']);
      expect(code).to.equal(0);
      expect(jsonLines(stdout)).to.deep.equal([
        {
          export: 'default',
          name: 'orders',
          workers: 1,
          connectors: ['orders'],
          policies: ['consume'],
        },
        { export: 'grouped.quiet', name: 'quiet', workers: 3, connectors: [], policies: [] },
        { export: 'quiet', name: 'quiet', workers: 3, connectors: [], policies: [] },
      ]);
    });

    it('lists them as a table by default', async () => {
      const { code, stdout } = await runErgon(['list', fixture]);
      expect(code).to.equal(0);
      expect(stdout).to.include('name orders').and.include('policies consume');
    });
  });

  describe('process', () => {
    it('runs one payload through the consumer and exits 0 on success', async () => {
      const { code, stdout } = await runErgon([
        'process',
        fixture,
        'consume',
        '--payload',
        '{"order":7}',
        '--id',
        'order-7',
      ]);
      expect(code).to.equal(0);
      expect(jsonLines(stdout)).to.deep.equal([
        { status: 'success', transactionId: 'order-7', result: 'shipped 7' },
      ]);
    });

    it('exits 1 on a failed outcome', async () => {
      const { code, stdout } = await runErgon([
        'process',
        fixture,
        'consume',
        '--payload={"order":8,"fail":true}',
      ]);
      expect(code).to.equal(1);
      const [outcome] = jsonLines(stdout);
      expect(outcome).to.include({ status: 'failed' });
      expect(outcome?.['error']).to.include('order 8 failed');
    });

    it('exits 2 for an unknown policy, naming the policies', async () => {
      const { code, stderr } = await runErgon(['process', fixture, 'nope', '--payload', '{}']);
      expect(code).to.equal(2);
      expect(stderr).to.include('no policy "nope"').and.include('policies: consume');
    });

    it('exits 2 for a payload that is not JSON', async () => {
      const { code, stderr } = await runErgon(['process', fixture, 'consume', '--payload', '{x']);
      expect(code).to.equal(2);
      expect(stderr).to.include('--payload is not JSON');
    });

    it('exits 2 for a definition without a consumer', async () => {
      const { code, stderr } = await runErgon([
        'process',
        `${fixture}#quiet`,
        'x',
        '--payload',
        '1',
      ]);
      expect(code).to.equal(2);
      expect(stderr).to.include('no consumer task for "quiet"');
    });
  });

  describe('process-by-id', () => {
    it('looks the transaction up on the first connector and runs it', async () => {
      const { code, stdout } = await runErgon(['process-by-id', fixture, 'consume', 'tx-2']);
      expect(code).to.equal(0);
      expect(jsonLines(stdout)).to.deep.equal([
        { status: 'success', transactionId: 'tx-2', result: 'shipped 2' },
      ]);
    });

    it('exits 1 when the transaction does not exist', async () => {
      const { code, stderr } = await runErgon(['process-by-id', fixture, 'consume', 'nope']);
      expect(code).to.equal(1);
      expect(stderr).to.include('TransactionNotFoundError');
    });

    it('exits 2 for an unknown --connector', async () => {
      const args = ['process-by-id', fixture, 'consume', 'tx-1', '--connector', 'other'];
      const { code, stderr } = await runErgon(args);
      expect(code).to.equal(2);
      expect(stderr).to.include('no connector "other"');
    });
  });

  describe('usage', () => {
    for (const command of ['run', 'list', 'process', 'process-by-id', 'new']) {
      it(`prints the usage of ${command} on --help and exits 0`, async () => {
        const { code, stdout } = await runErgon([command, '--help']);
        expect(code).to.equal(0);
        expect(stdout).to.include(`Usage: ergon ${command}`);
      });
    }

    it('prints the command list on --help', async () => {
      const { code, stdout } = await runErgon(['--help']);
      expect(code).to.equal(0);
      expect(stdout).to.include('process-by-id');
    });

    it('exits 2 on an unknown command', async () => {
      const { code, stderr } = await runErgon(['launch']);
      expect(code).to.equal(2);
      expect(stderr).to.include('unknown command "launch"');
    });

    it('exits 2 on an unknown flag', async () => {
      const { code, stderr } = await runErgon(['list', fixture, '--colour']);
      expect(code).to.equal(2);
      expect(stderr).to.include('unknown flag "--colour"').and.include('ergon list --help');
    });

    it('exits 2 without a command', async () => {
      const { code, stderr } = await runErgon([]);
      expect(code).to.equal(2);
      expect(stderr).to.include('Usage: ergon <command>');
    });
  });
});
