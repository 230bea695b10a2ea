import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from './rate-limited-worker.js';

const worker = fileURLToPath(new URL('./rate-limited-worker.ts', import.meta.url));

/** What one worker reports: when it was ready to start, and when it started each transaction. */
interface WorkerReport {
  readonly ready: number;
  readonly starts: readonly number[];
}

/** Runs one {@link WorkerOptions} worker process; resolves with its report. */
function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${String(code)}`));
      else resolve(JSON.parse(output.trim().split('\n').pop() ?? '{}') as WorkerReport);
    });
  });
}

/** The starts of the window in which every worker was running, per worker. */
export interface SharedStarts {
  /** Starts in the window, per worker. */
  readonly perWorker: readonly number[];
  readonly total: number;
  /** The window's length: from the moment all workers were ready (and the common start) to the end. */
  readonly seconds: number;
}

/**
 * Runs `workers` processes sharing one limiter (`store`, `name`) of `limit` per second until
 * `durationMs` after a common wall-clock start (`warmUp` ms from now, for tsx to load), and
 * counts their starts from the moment all of them were ready — a worker that loaded late on a
 * busy machine shortens the window instead of lowering the count — to the end.
 */
export async function runSharedWorkers(options: {
  readonly store: WorkerOptions['store'];
  readonly name: string;
  readonly workers: number;
  readonly limit: number;
  readonly durationMs: number;
  readonly warmUp?: number;
}): Promise<SharedStarts> {
  const startAt = Date.now() + (options.warmUp ?? 5000);
  const end = startAt + options.durationMs;
  const reports = await Promise.all(
    Array.from({ length: options.workers }, () =>
      runWorker({
        store: options.store,
        name: options.name,
        limit: options.limit,
        startAt,
        durationMs: options.durationMs,
      }),
    ),
  );
  const from = Math.max(startAt, ...reports.map((report) => report.ready));
  const perWorker = reports.map(
    (report) => report.starts.filter((at) => at >= from && at < end).length,
  );
  return {
    perWorker,
    total: perWorker.reduce((sum, n) => sum + n, 0),
    seconds: (end - from) / 1000,
  };
}
