import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RateLimiter } from '../../lib/index.js';
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
interface SharedStarts {
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
async function runSharedWorkers(options: {
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

/**
 * Four worker processes sharing the limiter (`store`, `name`) of 100/s for 10 s: logs their
 * starts (`label` names the limiter), and checks that the window lasted at least 3 s, that
 * together they started 100/s ± 5 % in it, and that every worker took part.
 */
export async function expectFourWorkersShare100PerSecond(
  store: WorkerOptions['store'],
  name: string,
  label: string,
): Promise<void> {
  const { perWorker, total, seconds } = await runSharedWorkers({
    store,
    name,
    workers: 4,
    limit: 100,
    durationMs: 10_000,
  });
  console.log(
    `      4 workers, ${label} 100/s, ${seconds.toFixed(1)} s: ${total} starts (${perWorker.join(' + ')})`,
  );
  expect(seconds, 'the workers took most of the warm-up and the run to load').to.be.at.least(3);
  expect(total).to.be.within(Math.floor(100 * seconds * 0.95), Math.ceil(100 * seconds * 1.05));
  for (const count of perWorker) expect(count).to.be.greaterThan(0);
}

/**
 * Eight callers in this process taking 3 permits of 20/s (burst 5) from `limiter` again and
 * again for a second; resolves with how many they were granted together.
 */
export async function grantedToConcurrentCallers(limiter: RateLimiter): Promise<number> {
  const limit = { limit: 20, interval: 1000, burst: 5 };
  const until = Date.now() + 1000;
  let granted = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < until - 50) {
        const grant = await limiter.take(3, limit);
        granted += grant.granted;
      }
    }),
  );
  return granted;
}
