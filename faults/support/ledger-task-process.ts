import { spawn, type ChildProcess } from 'node:child_process';
import { childEnvironment } from '../../spec/support/quiet-logs.js';
import { fileURLToPath } from 'node:url';
import { LEDGER_TASK_VARIABLE, type LedgerTaskSettings } from './ledger-task-settings.js';

const entry = fileURLToPath(new URL('./ledger-task.ts', import.meta.url));

/** A worker process of the task, from its `EVENT ready` line. */
export interface LedgerWorker {
  readonly workerId: number;
  readonly pid: number;
}

/** How the task's process ended. */
export interface LedgerTaskExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `ledger-task.ts` running in a child process (`node --import tsx`): the primary of a worker
 * pool when `settings.workers > 1`, else the one worker. Its stdin is a pipe from this
 * process: when this process dies, the task dies too.
 */
export class LedgerTaskProcess {
  /** Resolves when the process has exited and its output is closed. */
  readonly exited: Promise<LedgerTaskExit>;
  private stdout = '';
  private stderr = '';
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      for (const check of this.waiters) check();
    });
    child.stderr?.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  static start(settings: LedgerTaskSettings): LedgerTaskProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...childEnvironment(), [LEDGER_TASK_VARIABLE]: JSON.stringify(settings) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new LedgerTaskProcess(child);
  }

  /** Every worker start so far, in order (a restarted worker appears again with a new pid). */
  workers(): LedgerWorker[] {
    return [...this.stdout.matchAll(/^EVENT ready (\d+) (\d+)$/gm)].map((match) => ({
      workerId: Number(match[1]),
      pid: Number(match[2]),
    }));
  }

  /** The latest start of each worker id. */
  currentWorkers(): LedgerWorker[] {
    const latest = new Map<number, LedgerWorker>();
    for (const worker of this.workers()) latest.set(worker.workerId, worker);
    return [...latest.values()];
  }

  /** Resolves once `count` worker starts were seen; rejects if the process exits first. */
  async waitForStarts(count: number): Promise<void> {
    const started = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.workers().length < count) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
    const died = this.exited.then(({ code, stderr }) => {
      throw new Error(`the task exited (${code}) before ${count} worker starts:\n${stderr}`);
    });
    await Promise.race([started, died]);
  }

  /** Sends SIGTERM (a graceful stop) and resolves with how the process ended. */
  async stop(): Promise<LedgerTaskExit> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Kills the process and every worker it started (for clean-up after a failure). */
  kill(): void {
    const running = this.child.exitCode === null && this.child.signalCode === null;
    for (const { pid } of running ? this.workers() : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (running) this.child.kill('SIGKILL');
  }
}
