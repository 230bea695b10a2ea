import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { RateLimitedError, TransactionError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import type { StartGate } from './shared-rate-gate.js';
import { describeError } from '../../core/renderers.js';
import { isInstance, readProperty } from '../../core/safe-access.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import { type Backoff, backoffDelay } from '../../policy/backoff.js';
import type {
  CircuitBreakerPolicy,
  LoopConcurrency,
  RateLimit,
} from '../../policy/policy-sections.js';

/**
 * When a rate limit lets things go: the generic cell rate algorithm. Each one is due
 * `interval / limit` after the one before; after an idle spell up to `burst` more may go at
 * once. So no window of `interval` (half-open) holds more than `limit + burst`, and a steady
 * flow runs at exactly `limit` per `interval`.
 */
export class RateSchedule {
  /**
   * The steady rate's clock: the `count`-th one since `anchor` is due at `anchor + count ×
   * interval / limit`, computed from the anchor each time so that rounding never adds up
   * (1000 / 3 added three times is not 1000).
   */
  private anchor = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(readonly limit: RateLimit) {}

  /** The earliest time, not before `now`, at which one more may go. */
  nextAt(now: number): number {
    return Math.max(now, this.dueAfter(-this.limit.burst));
  }

  /** One goes at `at` (not before {@link nextAt}). */
  take(at: number): void {
    if (at > this.dueAfter(0)) {
      // Behind the steady rate: it starts again from here.
      this.anchor = at;
      this.count = 1;
    } else {
      this.count++;
    }
  }

  /**
   * How many may go from `now` until just before `until`, one after the other at the earliest.
   * Walks the schedule on a copy: at most `limit + burst + 1` steps per interval.
   */
  allowedBy(now: number, until: number): number {
    const walk = new RateSchedule(this.limit);
    walk.anchor = this.anchor;
    walk.count = this.count;
    let allowed = 0;
    let at = walk.nextAt(now);
    while (at < until) {
      walk.take(at);
      allowed++;
      at = walk.nextAt(at);
    }
    return allowed;
  }

  /** How many may go at once, right now. */
  availableNow(now: number): number {
    return this.nextAt(now) > now ? 0 : this.allowedBy(now, now + 1e-6);
  }

  /** When the one `shift` places from the next at the steady rate is due. */
  private dueAfter(shift: number): number {
    if (this.anchor === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
    return this.anchor + ((this.count + shift) * this.limit.interval) / this.limit.limit;
  }
}

/**
 * `loop.rateLimit` in a run: says whether one more transaction may start now, and when it
 * may not while some are ready, wakes the run when it will.
 */
export class RateGate {
  private readonly schedule: RateSchedule;
  private wait: Subscription | null = null;

  constructor(
    limit: RateLimit,
    private readonly scheduler: SchedulerLike,
    private readonly wake: () => void,
  ) {
    this.schedule = new RateSchedule(limit);
  }

  /** Whether one may start now; `ready`: some transaction waits to start (arms the wake-up). */
  allows(ready: boolean): boolean {
    const now = this.scheduler.now();
    const at = this.schedule.nextAt(now);
    if (at <= now) return true;
    if (ready) this.wakeAt(at, now);
    return false;
  }

  /** One started now. */
  started(): void {
    this.schedule.take(this.scheduler.now());
  }

  /**
   * How many more may be fetched: what may start within one interval, less `ready`. When
   * that is nothing and nothing is ready, the run is woken when the next may start (it may
   * have nothing else that wakes it, a handler that finished at once, say).
   */
  room(ready: number): number {
    const now = this.scheduler.now();
    const room = this.schedule.allowedBy(now, now + this.schedule.limit.interval) - ready;
    if (room <= 0 && ready === 0) this.wakeAt(this.schedule.nextAt(now), now);
    return room;
  }

  /** Wakes the run at `at` (whole milliseconds, rounded up), unless a wake-up is armed. */
  private wakeAt(at: number, now: number): void {
    if (this.wait !== null) return;
    this.wait = timer(Math.ceil(at) - now, this.scheduler).subscribe(() => {
      this.wait = null;
      this.wake();
    });
  }

  dispose(): void {
    this.wait?.unsubscribe();
    this.wait = null;
  }
}

/** The default pause after a rate-limited attempt without `Retry-After`: 1 s, doubling, ≤ 1 min. */
const defaultPause: Backoff = Object.freeze({
  backoff: 1000,
  backoffMultiplier: 2,
  backoffCap: 60_000,
  jitter: 'none',
});

/** A breaker state change, for the run's telemetry. */
export type CircuitState = 'open' | 'halfOpen' | 'closed';

/**
 * What a run knows of its downstream, from its process attempts: a pause after it said "too
 * many requests" ({@link RateLimitedError}, an HTTP 429), and with `loop.circuitBreaker` a
 * breaker that opens when too many attempts fail for system reasons or time. While either
 * holds, no new transaction starts and nothing is fetched; refused attempts wait for the
 * pause's end, and failed attempts wait while the breaker is open (they neither count nor
 * use up the transaction's attempts), so an outage dead-letters nothing. When the breaker has
 * been open for `openFor`, one probe goes through: its success closes it, its failure opens it
 * again. Each pause and each state change is logged once.
 */
export class Downstream {
  /** When the pause ends; `-Infinity` while the run was never paused (no clock read then). */
  private until = Number.NEGATIVE_INFINITY;
  /** Pauses without a given delay since the last attempt that went through. */
  private streak = 0;
  private wait: Subscription | null = null;
  private state: CircuitState = 'closed';
  /** Times of the window's attempts and whether each failed (closed state), oldest first. */
  private readonly calls = new FifoQueue<{ readonly at: number; readonly failed: boolean }>();
  /** Of those, the failed ones. */
  private failures = 0;
  /** Failed attempts in a row, whatever the window (a sudden outage trips at once). */
  private consecutive = 0;
  /** The probe of the half-open state is out. */
  private probing = false;
  /** Attempts waiting for the breaker to let them try again. */
  private held: (() => void)[] = [];
  private reopen: Subscription | null = null;

  private readonly breaker: CircuitBreakerPolicy | null;
  private readonly changed: (state: CircuitState) => void;
  private readonly paused: (delay: number) => void;
  /** The adaptive concurrency limit fed by the attempts, if any. */
  readonly adaptive: AdaptiveLimit | null;
  private readonly inFlight: () => number;
  private readonly rate: StartGate | null;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly logger: Logger,
    private readonly wake: () => void,
    options: {
      readonly breaker?: CircuitBreakerPolicy | null;
      /** Hears every state change of the breaker (telemetry). */
      readonly changed?: (state: CircuitState) => void;
      /** Hears every pause the downstream's "too many requests" starts (telemetry). */
      readonly paused?: (delay: number) => void;
      /** `loop.concurrency`: an adaptive one gets its samples here. */
      readonly concurrency?: LoopConcurrency;
      /** Transactions in flight, for the adaptive limit. */
      readonly inFlight?: () => number;
      /** `loop.rateLimit`'s gate, if any. */
      readonly rate?: StartGate | null;
    } = {},
  ) {
    this.rate = options.rate ?? null;
    this.breaker = options.breaker ?? null;
    this.changed = options.changed ?? (() => undefined);
    this.paused = options.paused ?? (() => undefined);
    const concurrency = options.concurrency;
    this.adaptive =
      concurrency === undefined || concurrency.adaptive === null
        ? null
        : new AdaptiveLimit(concurrency);
    this.inFlight = options.inFlight ?? (() => 0);
  }

  /** Whether attempts should be timed (the adaptive limit needs their latency). */
  get measures(): boolean {
    return this.adaptive !== null;
  }

  /** Whether new transactions may start (and be fetched) now. */
  open(): boolean {
    if (this.state === 'open') return false;
    if (this.state === 'halfOpen' && this.probing) return false;
    return this.until === Number.NEGATIVE_INFINITY || this.scheduler.now() >= this.until;
  }

  /**
   * Whether one more transaction may start now: the downstream is not paused or broken, and
   * the rate limit allows it (`ready`: some transaction waits to start, so the rate limit
   * wakes the run when it will).
   */
  allows(ready: boolean): boolean {
    return this.open() && (this.rate === null || this.rate.allows(ready));
  }

  /** A transaction started: it takes a rate permit, and in the half-open state is the probe. */
  started(): void {
    this.rate?.started();
    if (this.state === 'halfOpen') this.probing = true;
  }

  /** How many more the rate limit lets the run fetch (`ready` wait to start already). */
  room(ready: number, wanted: number): number {
    return this.rate === null ? Infinity : this.rate.room(ready, wanted);
  }

  /**
   * An attempt was refused: pauses for `retryAfter` ms (`null`: the default, growing) unless
   * a longer pause runs already; returns how long that attempt waits before trying again.
   * The caller schedules its retry, then {@link wakeAtEnd}, so that at the pause's end the
   * refused attempts go before new transactions.
   */
  refused(retryAfter: number | null, error: unknown, rtt = 0): number {
    const now = this.scheduler.now();
    this.adaptive?.sample(rtt, true, this.inFlight(), now);
    const delay = retryAfter ?? backoffDelay(defaultPause, this.streak++);
    if (now + delay > this.until) {
      if (now >= this.until) {
        this.logger.warn(
          `the downstream is rate limiting (${describeError(error)}): no new transactions for ${Math.ceil(delay)} ms`,
        );
        this.paused(delay);
      }
      this.until = now + delay;
      this.wait?.unsubscribe();
      this.wait = null;
    }
    return Math.ceil(this.until - now);
  }

  /** Wakes the run when the pause ends (once per pause). */
  wakeAtEnd(): void {
    if (this.wait !== null) return;
    const now = this.scheduler.now();
    this.wait = timer(Math.max(0, Math.ceil(this.until - now)), this.scheduler).subscribe(() => {
      this.wait = null;
      this.wake();
    });
  }

  /** An attempt went through after `rtt` ms (measured when {@link measures}). */
  passed(rtt = 0): void {
    this.streak = 0;
    this.adaptive?.sample(rtt, false, this.inFlight(), this.scheduler.now());
    if (this.breaker === null) return;
    if (this.state === 'halfOpen') {
      this.close();
      return;
    }
    this.record(false);
  }

  /**
   * An attempt failed with `error`. With a breaker, a failure for system reasons or time
   * counts toward it; returns `true` when the attempt must wait for the breaker instead of
   * being retried or given up ({@link hold}).
   */
  failed(error: unknown, rtt = 0): boolean {
    const counts = countsAgainstDownstream(error);
    this.adaptive?.sample(rtt, counts, this.inFlight(), this.scheduler.now());
    if (this.breaker === null || !counts) {
      if (this.state === 'halfOpen' && this.probing) this.close();
      return false;
    }
    if (this.state === 'halfOpen') {
      this.trip(error);
      return true;
    }
    if (this.state === 'open') return true;
    this.record(true);
    if (this.state === 'closed' && this.tripped()) {
      this.trip(error);
      return true;
    }
    return false;
  }

  /** Parks a failed attempt until the breaker lets it try again (as its probe, or closed). */
  hold(resume: () => void): void {
    this.held.push(resume);
  }

  dispose(): void {
    this.rate?.dispose();
    this.wait?.unsubscribe();
    this.reopen?.unsubscribe();
    this.wait = this.reopen = null;
    this.held = [];
  }

  private record(failed: boolean): void {
    const now = this.scheduler.now();
    this.calls.push({ at: now, failed });
    if (failed) {
      this.failures++;
      this.consecutive++;
    } else {
      this.consecutive = 0;
    }
    const since = now - (this.breaker as CircuitBreakerPolicy).window;
    for (let oldest = this.calls.peek(); oldest !== undefined && oldest.at <= since;) {
      this.calls.shift();
      if (oldest.failed) this.failures--;
      oldest = this.calls.peek();
    }
  }

  /**
   * Whether the breaker opens: `minCalls` failures in a row, or at least `minCalls` attempts
   * in the window with `failureRatio` of them failed.
   */
  private tripped(): boolean {
    const { minCalls, failureRatio } = this.breaker as CircuitBreakerPolicy;
    if (this.consecutive >= minCalls) return true;
    return this.calls.length >= minCalls && this.failures / this.calls.length >= failureRatio;
  }

  private trip(error: unknown): void {
    const { openFor } = this.breaker as CircuitBreakerPolicy;
    this.state = 'open';
    this.probing = false;
    this.calls.drain();
    this.failures = 0;
    this.consecutive = 0;
    this.logger.warn(
      `circuit breaker open: the downstream keeps failing (${describeError(error)}); no new transactions for ${openFor} ms, then one probe`,
    );
    this.changed('open');
    this.reopen?.unsubscribe();
    this.reopen = timer(openFor, this.scheduler).subscribe(() => {
      this.reopen = null;
      this.state = 'halfOpen';
      this.logger.info('circuit breaker half-open: one probe goes through');
      this.changed('halfOpen');
      const probe = this.held.shift();
      if (probe !== undefined) {
        this.probing = true;
        probe();
      }
      this.wake();
    });
  }

  private close(): void {
    this.state = 'closed';
    this.probing = false;
    this.logger.info('circuit breaker closed: the probe went through');
    this.changed('closed');
    const held = this.held;
    this.held = [];
    for (const resume of held) resume();
    this.wake();
  }
}

/** Whether a failed attempt speaks of the downstream: a system failure or a timeout. */
function countsAgainstDownstream(error: unknown): boolean {
  return TransactionError.wrap(error).category !== 'business';
}

/**
 * Whether `error` says the downstream is rate limiting: `undefined` when it does not; else the
 * pause it asks for in milliseconds, or `null` when it names none. Recognises a
 * {@link RateLimitedError} and an error carrying HTTP status 429 (`status`, `statusCode` or
 * `response.status`) with an optional `Retry-After` (`headers` or `response.headers`, a plain
 * object or a `Headers`; delta-seconds or an HTTP date). Never throws.
 */
export function rateLimitedDelay(error: unknown): number | null | undefined {
  if (isInstance(error, RateLimitedError)) {
    const retryAfter = readProperty(error, 'retryAfter');
    return typeof retryAfter === 'number' ? retryAfter : null;
  }
  const response = readProperty(error, 'response');
  const status =
    readProperty(error, 'status') ??
    readProperty(error, 'statusCode') ??
    readProperty(response, 'status');
  if (status !== 429 && status !== '429') return undefined;
  const header = retryAfterHeader(
    readProperty(error, 'headers') ?? readProperty(response, 'headers'),
  );
  return header === undefined ? null : parseRetryAfter(header);
}

/** The `Retry-After` value of a headers object or a `Headers`. */
function retryAfterHeader(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const get = readProperty(headers, 'get');
  try {
    const value: unknown =
      typeof get === 'function'
        ? (get as (name: string) => unknown).call(headers, 'retry-after')
        : (readProperty(headers, 'retry-after') ?? readProperty(headers, 'Retry-After'));
    return typeof value === 'string'
      ? value
      : typeof value === 'number'
        ? String(value)
        : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `Retry-After` value in milliseconds: delta-seconds, or an HTTP date (read against the wall
 * clock, the only meaning such a date has); `null` for anything else.
 */
function parseRetryAfter(value: string): number | null {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** Samples between two refreshes of the no-load latency (the smallest of the last window). */
const baselineWindow = 100;

/**
 * An adaptive concurrency limit, fed one sample per process attempt (its latency, and whether
 * it failed for system reasons or time), in the manner of Netflix's concurrency-limits. The
 * no-load latency is the smallest latency of the last window of attempts that went through.
 *
 * - `aimd`: while attempts go through within 1.25 × the no-load latency, the limit
 *   grows, by one per sample until the first decrease (a slow start), then by one per round
 *   trip of the whole limit (`+1/limit` per sample), while at least half of it is in use; a
 *   failure, or a latency past that, multiplies it by 0.9, at most once per no-load latency.
 * - `gradient`: once per round (as many samples as the limit), the limit moves half way to
 *   `limit × gradient + √limit`, where `gradient = clamp(no-load latency / the round's average
 *   latency, 0.5, 1)` (0.5 when an attempt of the round failed): it grows while latency stays
 *   at its no-load level and settles where queueing adds about `1/√limit` to it.
 *
 * The limit stays within `min`–`max`; {@link current} is its whole part.
 */
export class AdaptiveLimit {
  private limit: number;
  private baseline = Number.POSITIVE_INFINITY;
  private windowMin = Number.POSITIVE_INFINITY;
  private samples = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private slowStart = true;
  /** The current round (gradient): its samples, their latency and whether one failed. */
  private roundSamples = 0;
  private roundRtt = 0;
  private roundFailed = false;

  constructor(private readonly concurrency: LoopConcurrency) {
    this.limit = concurrency.value;
  }

  /** Transactions that may be in flight now. */
  get current(): number {
    return Math.floor(this.limit);
  }

  /** One attempt ended at `now` after `rtt` ms; `failed`: for system reasons or time. */
  sample(rtt: number, failed: boolean, inFlight: number, now: number): void {
    if (!failed) {
      // Only attempts that went through say what the no-load latency is: a refusal can be
      // far quicker than any real call.
      this.samples++;
      this.windowMin = Math.min(this.windowMin, rtt);
      if (this.baseline === Number.POSITIVE_INFINITY || this.samples % baselineWindow === 0) {
        this.baseline = this.windowMin;
        this.windowMin = Number.POSITIVE_INFINITY;
      }
    }
    const noLoad = Math.max(this.baseline, 1e-3);
    const { min, max } = this.concurrency;
    if (this.concurrency.adaptive === 'gradient') {
      this.roundSamples++;
      this.roundRtt += rtt;
      this.roundFailed ||= failed;
      if (this.roundSamples < Math.max(1, Math.floor(this.limit))) return;
      const average = this.roundRtt / this.roundSamples;
      const gradient = this.roundFailed
        ? 0.5
        : Math.min(1, Math.max(0.5, noLoad / Math.max(average, 1e-3)));
      const target = this.limit * gradient + Math.sqrt(this.limit);
      this.limit = clamp((this.limit + target) / 2, min, max);
      this.roundSamples = 0;
      this.roundRtt = 0;
      this.roundFailed = false;
      return;
    }
    if (failed || rtt > 1.25 * noLoad) {
      if (now - this.lastDecrease >= noLoad) {
        this.limit = clamp(this.limit * 0.9, min, max);
        this.lastDecrease = now;
        this.slowStart = false;
      }
    } else if (inFlight * 2 >= this.limit) {
      this.limit = clamp(this.limit + (this.slowStart ? 1 : 1 / this.limit), min, max);
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
