import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { childEnvironment } from '../support/quiet-logs.js';

const fixture = fileURLToPath(new URL('fixtures/log-volume-task.ts', import.meta.url));

/** Runs the fixture with `ERGON_LOG_LEVEL` as given (`undefined`: unset); its output lines. */
function run(level: string | undefined): Promise<{ code: number | null; lines: string[] }> {
  const env = childEnvironment();
  delete env['ERGON_LOG_LEVEL'];
  if (level !== undefined) env['ERGON_LOG_LEVEL'] = level;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({ code, lines: output.split('\n').filter((line) => line !== '') }),
    ),
  );
}

describe('runner: log volume at the default level (issue #16)', function () {
  this.timeout(30_000);

  it('10 000 transactions with 5 % handled NonRetryableErrors: the user info lines, no engine line', async () => {
    const { code, lines } = await run(undefined);
    expect(code).to.equal(0);
    expect(lines.filter((line) => line.includes('USER processed'))).to.have.length(10);
    const others = lines.filter((line) => !line.includes('USER processed'));
    expect(others.filter((line) => /declined|attempt|failed/.test(line))).to.deep.equal([]);
    expect(others.length, others.join('\n')).to.be.at.most(6);
  });

  it('ERGON_LOG_LEVEL=warn silences them', async () => {
    const { lines } = await run('warn');
    expect(lines.filter((line) => line.includes('USER processed'))).to.deep.equal([]);
  });
});
