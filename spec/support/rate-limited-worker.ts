/**
 * A worker process for the shared rate limit specs. Argument: JSON {@link WorkerOptions}.
 * Waits until `startAt` (wall clock), consumes a memory source with a no-op handler under
 * `loop.rateLimit: { limit, interval, limiter }` until `startAt + durationMs`, then prints, as
 * one JSON line, when it was ready (loaded, limiter set up) and its start times (ms since the
 * epoch), and exits.
 */
import { timer } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type RateLimiter } from '../../lib/index.js';
import { RedisRateLimiter } from '../../lib/connectors/redis/index.js';
import { PostgresRateLimiter } from '../../lib/connectors/postgres/index.js';
import { testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';

export interface WorkerOptions {
  readonly store: 'redis' | 'postgres';
  /** The Redis key or the PostgreSQL table. */
  readonly name: string;
  readonly limit: number;
  readonly startAt: number;
  readonly durationMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
const limiter: RateLimiter & { close(): Promise<void> } =
  options.store === 'redis'
    ? new RedisRateLimiter({ key: options.name })
    : await postgresLimiter(options.name);

async function postgresLimiter(table: string): Promise<RateLimiter & { close(): Promise<void> }> {
  const limiter = new PostgresRateLimiter({ connection: { url: testUrl }, table });
  await limiter.migrate();
  return limiter;
}
const source = Array.from({ length: options.limit * 20 }, (_, n) => ({ n }));
const connector = new MemoryConnector<{ n: number }>({ source });
const starts: number[] = [];
const task = consumerTask({
  process: () => {
    starts.push(Date.now());
  },
});
const ready = Date.now();
await new Promise((resolve) => setTimeout(resolve, Math.max(0, options.startAt - Date.now())));
await new Promise<void>((resolve, reject) => {
  consume(
    connector,
    task,
    {
      loop: {
        mode: 'continuous',
        concurrency: { value: 16 },
        rateLimit: { limit: options.limit, interval: 1000, limiter },
      },
    },
    { stop$: timer(Math.max(0, options.startAt + options.durationMs - Date.now())) },
  ).subscribe({ error: reject, complete: resolve });
});
await limiter.close();
process.stdout.write(`${JSON.stringify({ ready, starts })}\n`);
