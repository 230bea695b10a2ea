import { url as inspectorUrl } from 'node:inspector';
import { Worker } from 'node:worker_threads';

/**
 * The watchdog thread's code (plain JavaScript, evaluated in a worker thread, so it runs the
 * same from the sources and from `dist/`). It watches a counter the main thread increments
 * every `beat` ms; when the counter has not moved for `wedgedAfter` ms, the main event loop is
 * blocked: it writes one line straight to file descriptor 2 (a worker's `process.stderr`
 * goes through the blocked main thread) and kills the process with SIGKILL (the only signal
 * a blocked loop cannot delay; the exit status is 128 + 9). Checks use the thread's own
 * clock; `Atomics.wait` on the stop flag sleeps between checks and wakes at once on stop.
 */
const watchdogThread = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { counter, wedgedAfter, check, pid } = workerData;
let seen = Atomics.load(counter, 0);
let movedAt = Date.now();
while (Atomics.wait(counter, 1, 0, check) !== 'ok' && Atomics.load(counter, 1) === 0) {
  const now = Date.now();
  const value = Atomics.load(counter, 0);
  if (value !== seen) { seen = value; movedAt = now; continue; }
  if (now - movedAt >= wedgedAfter) {
    const line = JSON.stringify({ timestamp: new Date(now).toISOString(), level: 'FATAL',
      logger: 'ergon.runner.watchdog',
      message: 'the event loop has been blocked for ' + (now - movedAt) + ' ms (supervision.wedgedAfter ' +
        wedgedAfter + ' ms); killing the process (SIGKILL) so that it is restarted' });
    try { writeSync(2, line + '\\n'); } catch {}
    process.kill(pid, 'SIGKILL');
    break;
  }
}
`;

/**
 * Kills the process when its event loop stays blocked for `wedgedAfter` ms (an endless
 * synchronous loop, a deadlocked native call): a worker thread, which keeps running when the
 * main thread cannot, watches a heartbeat the main thread's timer writes to shared memory.
 * The reference implementation's supervisor thread does the same. Off while an inspector is
 * attached (a debugger paused at a breakpoint blocks the loop too). Neither the thread nor
 * the timer keeps the process alive.
 *
 * @example
 * ```ts
 * const watchdog = new EventLoopWatchdog(10_000);
 * watchdog.start();
 * // … the run …
 * await watchdog.stop();
 * ```
 */
export class EventLoopWatchdog {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private counter: Int32Array | undefined;

  constructor(private readonly wedgedAfter: number) {}

  /** Whether it runs (not while an inspector is attached). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Starts the thread and the heartbeat (no-op when started, or with an inspector attached). */
  start(): void {
    if (this.worker !== undefined || inspectorUrl() !== undefined) return;
    const counter = new Int32Array(new SharedArrayBuffer(8));
    // A beat several times per period, so that one late timer is not a blocked loop.
    const beat = Math.max(10, Math.floor(this.wedgedAfter / 4));
    this.worker = new Worker(watchdogThread, {
      eval: true,
      workerData: { counter, wedgedAfter: this.wedgedAfter, check: beat, pid: process.pid },
      stdout: true,
      stderr: false,
    });
    this.worker.unref();
    this.counter = counter;
    this.timer = setInterval(() => Atomics.add(counter, 0, 1), beat);
    this.timer.unref();
  }

  /** Stops the heartbeat and the thread. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const worker = this.worker;
    const counter = this.counter;
    this.worker = undefined;
    this.counter = undefined;
    if (worker === undefined || counter === undefined) return;
    Atomics.store(counter, 1, 1);
    Atomics.notify(counter, 1);
    await worker.terminate();
  }
}
