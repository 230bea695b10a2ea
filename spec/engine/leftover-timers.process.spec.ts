import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const child = fileURLToPath(new URL('./leftover-timers.child.ts', import.meta.url));

/** The operators `leftover-timers.child.ts` runs, in its order. */
const operators = [
  'consume',
  'consume (streaming, stopped by stop$)',
  'consume (unsubscribed while a handler hangs)',
  'processWith',
  'runTransaction',
  'runTransactionById',
  'attempt',
  'produce',
  'dispatchTo',
  'dispatchTo (an attempt timed out, then succeeded late)',
  'createDispatcher',
];

/**
 * Design §4.10: nothing of ours keeps node alive after a run. A real node process runs every
 * public operator to its end with long timeouts armed (60 s attempt timeouts, backoffs and
 * budgets, a 120 s loop timeout), then has nothing left to do: it must exit at once, not
 * when the longest timer fires.
 */
describe('a node process exits promptly after running every public operator', function () {
  this.timeout(60_000);
  let output: { stdout: string; stderr: string; code: number | null; lingered: number };

  before(async () => {
    output = await new Promise((resolve) => {
      const process_ = spawn(process.execPath, ['--import', 'tsx', child], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let doneAt: number | null = null;
      // Exiting well before the first 60 s timer proves nothing held the loop; kill a
      // process that lingers so the spec fails fast instead of waiting for it.
      let guard: NodeJS.Timeout | null = null;
      process_.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (doneAt === null && stdout.includes('ALL DONE')) {
          doneAt = Date.now();
          guard = setTimeout(() => process_.kill('SIGKILL'), 5_000);
        }
      });
      process_.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      process_.on('close', (code) => {
        if (guard !== null) clearTimeout(guard);
        resolve({ stdout, stderr, code, lingered: doneAt === null ? -1 : Date.now() - doneAt });
      });
    });
  });

  it('ran every operator and exited with code 0 less than 2 s after the last one ended', () => {
    expect(output.stdout, output.stderr).to.include('ALL DONE');
    expect(output.code, output.stderr).to.equal(0);
    expect(output.lingered).to.be.within(0, 2_000);
  });

  for (const operator of operators) {
    it(`${operator}: no resource of ours keeps node alive once it ended`, () => {
      const line = output.stdout.split('\n').find((l) => l.startsWith(`LEFT ${operator} [`));
      expect(line, output.stdout + output.stderr).to.not.equal(undefined);
      expect(JSON.parse((line as string).slice(`LEFT ${operator} `.length))).to.deep.equal([]);
    });
  }
});
