/**
 * Flow control in real time (issue #19): a consumer loop against an in-process simulated
 * downstream that saturates (adaptive concurrency), or that goes down for a while (circuit
 * breaker). Transactions come from a `MemoryConnector`; latency is fetch-to-settle.
 */
import { consume, consumerTask, MemoryConnector, type Logger } from 'ergon-rx';
import { LatencyConnector } from './latency-connector.js';
import { LatencyRecorder } from './latency-recorder.js';
import { secondsSince, type RunResult } from './run-result.js';

/** What the simulated downstream throws when it refuses a call or is down. */
class ServiceUnavailableError extends Error {
  readonly status = 503;
}

/**
 * A downstream that serves up to `capacity` calls at once in `latency` ms each; beyond that
 * a call takes longer in proportion to the calls in flight (`latency × inFlight / capacity`,
 * a queue), and beyond `refuseAbove` calls in flight it refuses at once with a 503. While
 * `down`, every call fails with a 503 after `outageLatency` ms.
 */
export class SimulatedDownstream {
  /** Calls made, and how many of them ended in a 503. */
  calls = 0;
  refused = 0;
  down = false;
  private inFlight = 0;

  constructor(
    private readonly capacity = 40,
    private readonly latency = 10,
    private readonly refuseAbove = 60,
    private readonly outageLatency = 5,
  ) {}

  call(signal: AbortSignal): Promise<void> {
    this.calls++;
    if (!this.down && this.inFlight >= this.refuseAbove) {
      this.refused++;
      return Promise.reject(new ServiceUnavailableError('503: over capacity'));
    }
    this.inFlight++;
    const delay = this.down
      ? this.outageLatency
      : this.latency * Math.max(1, this.inFlight / this.capacity);
    const failing = this.down;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.inFlight--;
        signal.removeEventListener('abort', aborted);
        if (failing) {
          this.refused++;
          reject(new ServiceUnavailableError('503: down'));
        } else resolve();
      };
      const timer = setTimeout(done, delay);
      const aborted = (): void => {
        clearTimeout(timer);
        this.inFlight--;
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}

const silent: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Counts successes per `bucketMs` since `started`. */
class RateTimeline {
  readonly buckets: number[] = [];

  constructor(
    private readonly started: number,
    readonly bucketMs: number,
  ) {}

  success(): void {
    const index = Math.floor((performance.now() - this.started) / this.bucketMs);
    while (this.buckets.length <= index) this.buckets.push(0);
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
  }

  /**
   * The steady rate (per second): the median rate of the full buckets in the second half of
   * the run's body (up to the bucket where `body` of the successes were in, so that a tail of
   * late retries does not count); and the time (end of the first bucket, in seconds) whose
   * rate reached `share` of it.
   */
  ramp(share: number, body = 0.95): { steadyRate: number; rampSeconds: number } {
    const total = this.buckets.reduce((sum, n) => sum + n, 0);
    let seen = 0;
    let end = this.buckets.findIndex((n) => (seen += n) >= body * total);
    end = Math.max(1, Math.min(end, this.buckets.length - 1));
    const full = this.buckets.slice(0, end);
    const late = full.slice(Math.floor(full.length / 2)).sort((a, b) => a - b);
    const steady = late[Math.floor(late.length / 2)] ?? 0;
    const first = full.findIndex((n) => n >= share * steady);
    const perSecond = 1000 / this.bucketMs;
    return { steadyRate: steady * perSecond, rampSeconds: ((first + 1) * this.bucketMs) / 1000 };
  }
}

/** One run of the saturating-downstream scenario. */
export interface AdaptiveRun {
  readonly count: number;
  /** A fixed concurrency, or an adaptive one starting at 5 (min 1, max 200). */
  readonly concurrency: number | 'aimd' | 'gradient';
  /** Width of the buckets that time the ramp-up, in ms. */
  readonly bucketMs: number;
}

function* payloads(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

export async function ergonAdaptive(run: AdaptiveRun): Promise<RunResult> {
  const downstream = new SimulatedDownstream();
  const memory = new MemoryConnector({ source: payloads(run.count) });
  const recorder = new LatencyRecorder(run.count);
  const task = consumerTask<number>({
    process: (_transaction, { signal }) => downstream.call(signal),
    logger: silent,
  });
  const concurrency =
    typeof run.concurrency === 'number'
      ? { value: run.concurrency }
      : { value: 5, adaptive: run.concurrency, min: 1, max: 200 };
  let successes = 0;
  let others = 0;
  const started = performance.now();
  const timeline = new RateTimeline(started, run.bucketMs);
  await new Promise<void>((resolve, reject) => {
    consume(new LatencyConnector(memory, recorder), task, {
      loop: { mode: 'continuous', concurrency },
      process: { retry: { maxAttempts: 10, backoff: 5 } },
    }).subscribe({
      next: (outcome) => {
        if (outcome.status === 'success') {
          successes++;
          timeline.success();
        } else others++;
      },
      error: reject,
      complete: resolve,
    });
  });
  const seconds = secondsSince(started);
  const { steadyRate, rampSeconds } = timeline.ramp(0.9);
  return {
    count: successes,
    seconds,
    latency: recorder.summary(),
    extra: {
      calls: downstream.calls,
      refused: downstream.refused,
      notSucceeded: others,
      deadLettered: memory.counts.deadLetter,
      steadyRate,
      rampSeconds,
    },
  };
}

/** One run of the outage scenario. */
export interface OutageRun {
  readonly count: number;
  readonly concurrency: number;
  /** When the downstream goes down (ms after the start) and for how long. */
  readonly downAt: number;
  readonly downFor: number;
  readonly breaker: boolean;
  readonly maxAttempts: number;
  /** Retry backoff in ms (doubling). */
  readonly backoff: number;
}

export async function ergonOutage(run: OutageRun): Promise<RunResult> {
  const downstream = new SimulatedDownstream();
  const memory = new MemoryConnector({ source: payloads(run.count) });
  const recorder = new LatencyRecorder(run.count);
  let downAt: number | null = null;
  let upAt: number | null = null;
  let firstSuccessAfter: number | null = null;
  /** When the breaker first opened, and how many times it opened. */
  let openedAt: number | null = null;
  let opened = 0;
  const logger: Logger = {
    ...silent,
    warn(...message: unknown[]) {
      if (typeof message[0] === 'string' && message[0].startsWith('circuit breaker open')) {
        openedAt ??= performance.now();
        opened++;
      }
    },
  };
  const task = consumerTask<number>({
    process: async (_transaction, { signal }) => {
      await downstream.call(signal);
      if (upAt !== null && firstSuccessAfter === null) firstSuccessAfter = performance.now();
    },
    logger,
  });
  const started = performance.now();
  const goDown = setTimeout(() => {
    downstream.down = true;
    downAt = performance.now();
  }, run.downAt);
  const comeBack = setTimeout(() => {
    downstream.down = false;
    upAt = performance.now();
  }, run.downAt + run.downFor);
  let successes = 0;
  let others = 0;
  let othersOnceOpen = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      consume(new LatencyConnector(memory, recorder), task, {
        loop: {
          mode: 'continuous',
          concurrency: { value: run.concurrency },
          circuitBreaker: run.breaker
            ? { failureRatio: 0.5, minCalls: 20, window: '5s', openFor: '2s' }
            : null,
        },
        process: { retry: { maxAttempts: run.maxAttempts, backoff: run.backoff } },
        transactionRuntime: { timeout: 120_000 },
      }).subscribe({
        next: (outcome) => {
          if (outcome.status === 'success') successes++;
          else {
            others++;
            if (openedAt !== null) othersOnceOpen++;
          }
        },
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    clearTimeout(goDown);
    clearTimeout(comeBack);
  }
  const seconds = secondsSince(started);
  return {
    count: successes,
    seconds,
    latency: recorder.summary(),
    extra: {
      deadLettered: memory.counts.deadLetter,
      notSucceeded: others,
      notSucceededOnceOpen: othersOnceOpen,
      refused: downstream.refused,
      opened,
      // ms from the downstream going down to the breaker opening (-1: it never opened)
      openMs: openedAt === null || downAt === null ? -1 : openedAt - downAt,
      // ms from the downstream coming back to the first success after it (-1: none)
      recoveryMs: upAt === null || firstSuccessAfter === null ? -1 : firstSuccessAfter - upAt,
    },
  };
}
