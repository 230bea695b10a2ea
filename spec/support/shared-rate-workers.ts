import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from './rate-limited-worker.js';

const worker = fileURLToPath(new URL('./rate-limited-worker.ts', import.meta.url));

/** Runs one {@link WorkerOptions} worker process; resolves with its start times. */
function runWorker(options: WorkerOptions): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${String(code)}`));
      else resolve(JSON.parse(output.trim().split('\n').pop() ?? '[]') as number[]);
    });
  });
}

/**
 * Runs `workers` processes sharing one limiter (`store`, `name`) of `limit` per second for
 * `durationMs`, all starting at the same wall-clock time (after `warmUp` ms for tsx to
 * load); resolves with each worker's start times, and that common start.
 */
export async function runSharedWorkers(options: {
  readonly store: WorkerOptions['store'];
  readonly name: string;
  readonly workers: number;
  readonly limit: number;
  readonly durationMs: number;
  readonly warmUp?: number;
}): Promise<{ readonly startAt: number; readonly starts: readonly (readonly number[])[] }> {
  const startAt = Date.now() + (options.warmUp ?? 5000);
  const starts = await Promise.all(
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
  return { startAt, starts };
}
