import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fixture script run as a child process by a multi-process spec. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves once the worker printed `ready`; rejects if it exits before. */
  readonly ready: Promise<void>;
  /** The exit code (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/**
 * Runs `script` (TypeScript, through tsx) with `args` in a child node process, its stdout
 * watched for `ready` and its stderr shown.
 */
export function startWorker(script: string, args: readonly (string | number)[]): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${String(code)}) before ready`)));
  });
  // A worker that never says `ready` (one awaited only for its exit) is no failure.
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, ready, exited };
}

/** The scratch folder and the workers of a multi-process suite (see {@link workerSuite}). */
export interface WorkerSuite {
  /** The path of `name` in the suite's own temporary folder. */
  file(name: string): string;
  /** {@link startWorker}; the worker is killed (SIGKILL) after the suite if it still runs. */
  start(script: string, args: readonly (string | number)[]): WorkerProcess;
  /**
   * Starts `script` with `args(file)` (`file`: the suite's file `name`), kills it (SIGKILL) once
   * that file holds `atLeast` ids (waiting at most `timeoutMs`), checks that the signal ended
   * it, and resolves with the ids it recorded.
   */
  killedMidRun(
    script: string,
    name: string,
    args: (file: string) => readonly (string | number)[],
    atLeast: number,
    timeoutMs: number,
  ): Promise<string[]>;
  /**
   * Runs `script` with `args(file)` (`file`: the suite's file `name`) to its end, checks that it
   * exited with 0, and resolves with the ids it recorded.
   */
  ranToEnd(
    script: string,
    name: string,
    args: (file: string) => readonly (string | number)[],
  ): Promise<string[]>;
}

/**
 * Registers the hooks of a multi-process suite (call it inside `describe`, before the suite's
 * own hooks): a temporary folder `ergon-<prefix>-…` made before the suite; after it, the
 * workers still running killed and the folder removed.
 */
export function workerSuite(prefix: string): WorkerSuite {
  let directory: string | undefined;
  const children: ChildProcess[] = [];

  before(() => {
    directory = mkdtempSync(join(tmpdir(), `ergon-${prefix}-`));
  });

  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  const suite: WorkerSuite = {
    file(name) {
      if (directory === undefined) throw new Error('workerSuite: the suite has not started');
      return join(directory, name);
    },
    start(script, args) {
      const worker = startWorker(script, args);
      children.push(worker.child);
      return worker;
    },
    async killedMidRun(script, name, args, atLeast, timeoutMs) {
      const file = suite.file(name);
      const worker = suite.start(script, args(file));
      await until(() => idsIn(file).length >= atLeast, timeoutMs);
      worker.child.kill('SIGKILL');
      expect(await worker.exited).to.equal(null);
      return idsIn(file);
    },
    async ranToEnd(script, name, args) {
      const file = suite.file(name);
      const worker = suite.start(script, args(file));
      expect(await worker.exited).to.equal(0);
      return idsIn(file);
    },
  };
  return suite;
}

/** The lines of a worker's ids file (one id a line); none when it does not exist yet. */
export function idsIn(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
    : [];
}

/** Resolves once `condition` holds (checked every 10 ms); rejects after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
