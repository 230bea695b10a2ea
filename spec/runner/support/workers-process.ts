import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../../support/quiet-logs.js';

const fixture = fileURLToPath(new URL('../fixtures/workers-task.ts', import.meta.url));

/** The primary of a worker-pool fixture, with its (and its workers') output collected. */
export interface WorkersProcess {
  readonly child: ChildProcess;
  /** The output so far. */
  readonly output: () => string;
  /** Resolves once `predicate(stdout)` holds. */
  readonly waitUntil: (predicate: (stdout: string) => boolean) => Promise<void>;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();

/**
 * Starts `spec/runner/fixtures/workers-task.ts <scenario> [port]` as the leader of its own
 * process group, so that {@link killWorkersProcesses} reaches its workers too.
 */
export function startWorkersProcess(scenario: string, port?: number): WorkersProcess {
  return startPoolProcess(fixture, [scenario, ...(port === undefined ? [] : [`${port}`])]);
}

/** Starts the pool fixture `path` (under tsx) with `args`, as {@link startWorkersProcess} does. */
export function startPoolProcess(path: string, fixtureArgs: readonly string[]): WorkersProcess {
  const args = ['--import', 'tsx', path, ...fixtureArgs];
  const child = spawn(process.execPath, args, {
    env: childEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  const waiters: { predicate: (stdout: string) => boolean; resolve: () => void }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) if (waiter.predicate(stdout)) waiter.resolve();
  });
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    exited,
    output: () => stdout,
    waitUntil: (predicate) =>
      predicate(stdout)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ predicate, resolve })),
  };
}

/**
 * SIGKILLs the process group of every fixture still running, for an `afterEach`: a spec that
 * failed or timed out must not leave a primary and its workers behind.
 */
export function killWorkersProcesses(): void {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    running.delete(child);
  }
}

/** A worker's `EVENT started` line. */
export interface WorkerStart {
  readonly workerId: number;
  readonly pid: number;
  readonly restarts: number;
}

export function startsIn(stdout: string): WorkerStart[] {
  return [...stdout.matchAll(/^EVENT started (\d+) (\d+) (-?\d+)$/gm)].map((m) => ({
    workerId: Number(m[1]),
    pid: Number(m[2]),
    restarts: Number(m[3]),
  }));
}

/** A worker's `EVENT done` line: the counts of its connector when it closed. */
export interface WorkerDone {
  readonly workerId: number;
  readonly pid: number;
  readonly ack: number;
  readonly release: number;
  readonly started: number;
  readonly finished: number;
}

export function donesIn(stdout: string): WorkerDone[] {
  return [...stdout.matchAll(/^EVENT done (\d+) (\d+) (.*)$/gm)].map((m) => ({
    workerId: Number(m[1]),
    pid: Number(m[2]),
    ...(JSON.parse(m[3] ?? '{}') as {
      ack: number;
      release: number;
      started: number;
      finished: number;
    }),
  }));
}
