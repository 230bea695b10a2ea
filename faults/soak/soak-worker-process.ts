import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SoakSample } from '../support/fault-result.js';
import { isWorkerReport, type WorkerTally } from './worker-report.js';

const workerScript = fileURLToPath(new URL('./soak-worker.ts', import.meta.url));

/**
 * The soak's worker (soak-worker.ts) as a child process run through tsx, and what it reported
 * over IPC: its samples up to the stop, and its tally.
 */
export class SoakWorkerProcess {
  readonly samples: SoakSample[] = [];
  tally: WorkerTally | undefined;
  readonly exited: Promise<number | null>;
  private recording = true;
  private readonly child: ChildProcess;

  constructor(queue: string, table: string) {
    this.child = fork(workerScript, [queue, table], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message) => {
      if (!isWorkerReport(message)) return;
      if (message.type === 'tally') this.tally = message.tally;
      else if (this.recording) this.samples.push(message.sample);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** Transactions settled, as of the last sample. */
  get settled(): number {
    return this.samples.at(-1)?.settled ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Graceful stop, as a deployment would: SIGTERM. Later samples (the shutdown) are not kept. */
  stop(): Promise<number | null> {
    this.recording = false;
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Hard stop (SIGKILL) of a worker still running. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
