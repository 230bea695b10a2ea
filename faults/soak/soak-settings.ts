import type { ConsumerPolicyInput, DispatchOptionsInput } from '../../lib/index.js';
import type { RabbitmqConnectorConfigInput } from '../../lib/connectors/rabbitmq/index.js';

/** The brokers the soak runs against (see spec/support/real-service.ts). */
const SOAK_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672/';
export const SOAK_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Transactions pushed through the pipeline: `ERGON_SOAK_MESSAGES`, 2 000 000 by default. Runs
 * much shorter than three minutes fail the RSS check: V8's heap is still growing to its working
 * size (see {@link soakWarmupSeconds}).
 */
export function soakMessageCount(): number {
  const text = process.env['ERGON_SOAK_MESSAGES'] ?? '2000000';
  const count = Number(text);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new Error(`ERGON_SOAK_MESSAGES: expected a positive integer, got "${text}"`);
  }
  return count;
}

/** Share of `process` attempts that throw. */
export const SOAK_FAILURE_RATE = 0.01;

/**
 * The worker's consumer policy: a streaming loop of 1000 transactions in flight (the broker
 * prefetch follows it), 5 attempts per transaction 1, 2, 4, 8 ms apart. A transaction fails for
 * good only when all 5 attempts fail (probability 10⁻¹⁰ at 1 %): it would be dead-lettered,
 * and the spec expects none.
 */
export const SOAK_CONSUMER_POLICY = {
  loop: {
    mode: 'continuous',
    concurrency: { value: 1000 },
    streaming: true,
    shutdownGrace: 10_000,
  },
  fetch: { empty: { backoff: 10, backoffCap: 200 } },
  process: { retry: { maxAttempts: 5, backoff: 1, backoffMultiplier: 2 } },
} as const satisfies ConsumerPolicyInput;

/** How the worker batches its inserts into PostgreSQL: up to 500 rows per statement, 2 at once. */
export const SOAK_DISPATCH_OPTIONS = {
  batch: 500,
  maxWait: 20,
  concurrency: 2,
  retry: { maxAttempts: 5, backoff: 100 },
} as const satisfies DispatchOptionsInput;

/** Messages per confirmed publish batch. */
export const SOAK_PUBLISH_BATCH = 5000;

/**
 * Most messages published and not yet settled by the worker: the queue never holds more, so
 * the broker never pages them out nor throttles the publisher.
 */
export const SOAK_PUBLISH_WINDOW = 100_000;

/** The queue both the publisher and the worker declare (they must agree on its arguments). */
export function soakQueueConfig(
  queue: string,
  connectionName: string,
): RabbitmqConnectorConfigInput {
  return {
    connection: { url: SOAK_RABBITMQ_URL, connectionName },
    queue,
    fetchWait: 200,
  };
}

/**
 * The slowest pipeline the soak accepts, in transactions per second: below it the run gives up
 * (after a minute for start-up) instead of running on past any time budget.
 */
const SOAK_MIN_THROUGHPUT = 2000;

/** Most time from the worker's start to the last of `messages` transactions settled. */
export function soakSettleDeadlineMs(messages: number): number {
  return 60_000 + Math.ceil((messages / SOAK_MIN_THROUGHPUT) * 1000);
}

/**
 * The warm-up excluded from the flatness checks: the first 60 s (connections, JIT, heap
 * growing to its working size), or the first third of a run shorter than 3 minutes.
 */
export function soakWarmupSeconds(runSeconds: number): number {
  return Math.min(60, Math.floor(runSeconds / 3));
}

/**
 * What "flat after warm-up" means, per series: a least-squares trend and a spread (max − min),
 * both bounded.
 *
 * RSS follows V8's garbage-collection cycle, a sawtooth: the old generation grows for a minute
 * or two, then a major collection gives 50–80 MiB back. A four-minute window holds only two to
 * four such cycles, and where it cuts them moves the trend by up to about ±1.5 MiB/min on a
 * healthy worker (measured). Hence a bound of 4 MiB/min, which at 5 000 transactions/s still
 * catches a leak of 14 bytes per transaction, and a spread of at most 96 MiB (one cycle's
 * sawtooth, with room). Counts (active handles and requests, timers, listeners): a trend below
 * one more per minute, and a spread the in-flight work explains.
 */
export const SOAK_FLATNESS = {
  rss: { maxRisePerMinute: 4, maxRange: 96 },
  activeHandles: { maxRisePerMinute: 1, maxRange: 50 },
  timers: { maxRisePerMinute: 1, maxRange: 50 },
  listeners: { maxRisePerMinute: 1, maxRange: 10 },
} as const;
