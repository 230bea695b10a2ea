import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { childEnvironment } from '../../../spec/support/quiet-logs.js';
import { fileURLToPath } from 'node:url';
import { RunnerJournal } from './runner-journal.js';
import type { RunnerTaskSettings } from './runner-task-settings.js';

const script = fileURLToPath(new URL('./rabbitmq-runner-task.ts', import.meta.url));

/** A `rabbitmq-runner-task.ts` child process. */
export class RunnerChild {
  readonly child: ChildProcess;
  /** Resolves with the exit code (`null` when killed) and stderr once the process exited. */
  readonly exited: Promise<{ code: number | null; stderr: string; at: number }>;

  constructor(private readonly settings: RunnerTaskSettings) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(settings)], {
      env: childEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    this.child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => resolve({ code, stderr, at: Date.now() })),
    );
  }

  journal(): RunnerJournal {
    return RunnerJournal.read(this.settings.journal);
  }

  /** Resolves once the journal satisfies `condition`, polling every 20 ms. */
  async until(condition: (journal: RunnerJournal) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.journal())) {
      if (this.child.exitCode !== null) expect.fail('the task process exited first');
      if (Date.now() > deadline) expect.fail('the task process did not get there in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the process if it still runs (for an `after` hook). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
