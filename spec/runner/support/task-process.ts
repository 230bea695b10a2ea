import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../../support/quiet-logs.js';

const fixture = fileURLToPath(new URL('../fixtures/task-process.ts', import.meta.url));

/** A fixture task running in a child process, with its output collected. */
export interface TaskProcess {
  readonly child: ChildProcess;
  /** Resolves once stdout holds `text`. */
  readonly waitFor: (text: string) => Promise<void>;
  /** Resolves with the exit code and the output once the process exited. */
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `spec/runner/fixtures/task-process.ts <scenario> [...args]`. */
export function startTaskProcess(scenario: string, ...args: string[]): TaskProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, scenario, ...args], {
    env: childEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) if (stdout.includes(waiter.text)) waiter.resolve();
  });
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    exited,
    waitFor: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ text, resolve })),
  };
}

/** The `EVENT` lines of a fixture's output, in order. */
export function eventsIn(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('EVENT '))
    .map((line) => line.slice('EVENT '.length));
}

/** The `COUNTS` line of a fixture's output, parsed. */
export interface FixtureCounts {
  readonly ack: number;
  readonly deadLetter: number;
  readonly release: number;
  readonly settlements: number;
  readonly distinct: number;
  readonly started: number;
  readonly finished: number;
}

export function countsIn(stdout: string): FixtureCounts {
  const line = stdout.split('\n').find((l) => l.startsWith('COUNTS '));
  if (line === undefined) throw new Error(`no COUNTS line in:\n${stdout}`);
  return JSON.parse(line.slice('COUNTS '.length)) as FixtureCounts;
}
