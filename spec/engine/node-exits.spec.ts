import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/run-then-exit.ts', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from `DONE` to the exit, or `null` when `DONE` never came. */
  readonly lingered: number | null;
}

/** Runs the fixture in a node process of its own; kills it after `limit` ms. */
function runFixture(limit: number): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let doneAt: number | null = null;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (doneAt === null && stdout.includes('DONE')) doneAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), limit);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, lingered: doneAt === null ? null : Date.now() - doneAt });
    }),
  );
}

/**
 * Nothing of ours keeps node alive after a run, although every run arms long retry
 * timeouts, backoffs and runtime budgets: after each run nothing new holds the event loop,
 * and the process exits on its own right after the last.
 */
describe('node exits once a run is over', function () {
  this.timeout(40_000);
  const expected: Record<string, string[]> = {
    consume: ['success', 'success', 'success'],
    'consume-streaming-stop-interval': [],
    processWith: ['success', 'success', 'success'],
    runTransaction: ['success'],
    'threadPool-uncloneable-payload': ['failed'],
  };
  let exit: Exit;
  let runs: Map<string, { outcomes: string[]; left: string[] }>;
  before(async () => {
    exit = await runFixture(30_000);
    runs = new Map(
      exit.stdout
        .split('\n')
        .filter((line) => line.startsWith('RUN '))
        .map((line) => {
          const [, name, json] = /^RUN (\S+) (.*)$/.exec(line)!;
          return [name!, JSON.parse(json!) as { outcomes: string[]; left: string[] }];
        }),
    );
  });

  for (const [scenario, outcomes] of Object.entries(expected)) {
    it(`${scenario}: its outcomes, and nothing left holding the event loop`, () => {
      expect(runs.get(scenario), exit.stderr).to.deep.equal({ outcomes, left: [] });
    });
  }

  it('the process exits by itself right after the last run', () => {
    expect(exit.code, exit.stderr).to.equal(0);
    expect(exit.lingered, 'ms between the end of the last run and the exit').to.be.below(1_000);
  });
});
