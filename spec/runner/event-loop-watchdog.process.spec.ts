import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../support/quiet-logs.js';

const fixture = fileURLToPath(new URL('fixtures/blocked-loop-task.ts', import.meta.url));

/** Runs the fixture; resolves how it ended and what it wrote. */
function runBlocked(
  blockFor: number,
  watchdog: 'on' | 'off',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(blockFor), watchdog], {
    env: childEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

describe('event-loop watchdog (a real process whose event loop blocks)', function () {
  this.timeout(60_000);

  it('kills the process (SIGKILL) with one FATAL line on stderr when the loop stays blocked past wedgedAfter', async () => {
    const { code, signal, stdout, stderr } = await runBlocked(30_000, 'on');
    expect(stdout).to.include('RUNNING');
    expect(stdout).not.to.include('UNBLOCKED');
    expect({ code, signal }).to.deep.equal({ code: null, signal: 'SIGKILL' });
    const fatal = stderr.split('\n').filter((line) => line.includes('"FATAL"'));
    expect(fatal).to.have.length(1);
    expect(JSON.parse(fatal[0]!)).to.include({ logger: 'ergon.runner.watchdog' });
    expect(fatal[0]).to.match(
      /event loop has been blocked for \d+ ms \(supervision.wedgedAfter 500 ms\)/,
    );
  });

  it('leaves a loop blocked for less than wedgedAfter alone, and lets the process exit after the run', async () => {
    const { code, signal, stdout, stderr } = await runBlocked(200, 'on');
    expect(stdout).to.include('UNBLOCKED');
    expect(stderr).not.to.include('FATAL');
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
  });

  it('leaves the process alone when supervision.eventLoopWatchdog is false', async () => {
    const { code, signal, stdout } = await runBlocked(1_500, 'off');
    expect(stdout).to.include('UNBLOCKED');
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
  });
});
