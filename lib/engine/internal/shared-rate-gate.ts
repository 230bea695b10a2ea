import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { Logger } from '../../core/logging.js';
import { describeError } from '../../core/renderers.js';
import { type Backoff, backoffDelay } from '../../policy/backoff.js';
import type { LoopRateLimit, RateLimit } from '../../policy/policy-sections.js';
import type { RateLimiter } from '../../policy/rate-limiter.js';
import { RateGate } from './flow-gates.js';

/** What the loops ask of `loop.rateLimit`: the in-process {@link RateGate} or a shared one. */
export interface StartGate {
  /** Whether one may start now; `ready`: some transaction waits to start (arms the wake-up). */
  allows(ready: boolean): boolean;
  /** One started now. */
  started(): void;
  /** How many more may be fetched, `ready` waiting to start, `wanted` more the loop could fetch. */
  room(ready: number, wanted: number): number;
  dispose(): void;
}

/** The gate of `loop.rateLimit`: in the process, or through its shared `limiter`. */
export function startGate(
  rate: LoopRateLimit,
  scheduler: SchedulerLike,
  logger: Logger,
  wake: () => void,
): StartGate {
  return rate.limiter === null
    ? new RateGate(rate, scheduler, wake)
    : new SharedRateGate(rate, rate.limiter, scheduler, logger, wake);
}

/** Asking again after a failed take: 100 ms, doubling, ≤ 5 s. */
const limiterBackoff: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'full',
});

/**
 * `loop.rateLimit` with a shared {@link RateLimiter}: permits are taken in blocks (what the
 * loop could start now, at most `limit + burst`) and kept as a local budget, which lasts one
 * interval; one take at a time. While the limiter fails: `closed` starts nothing and asks
 * again with a backoff; `open` keeps the limit in the process until it answers. One `warn`
 * line per outage.
 */
class SharedRateGate implements StartGate {
  private budget = 0;
  /** When the budget's permits lapse (one interval after they were granted). */
  private lapses = Number.NEGATIVE_INFINITY;
  private taking: AbortController | null = null;
  /** Armed while the loop waits before asking again (`retryAfter`, or the backoff). */
  private wait: Subscription | null = null;
  /** Failed takes in a row; > 0 during an outage. */
  private failures = 0;
  /** During an `open` outage: the in-process limit. */
  private fallback: RateGate | null = null;
  private disposed = false;
  private readonly rate: RateLimit;
  /** What a start without a fetch asks for: a tenth of an interval's worth and the burst. */
  private readonly block: number;

  constructor(
    private readonly policy: LoopRateLimit,
    private readonly limiter: RateLimiter,
    private readonly scheduler: SchedulerLike,
    private readonly logger: Logger,
    private readonly wake: () => void,
  ) {
    this.rate = Object.freeze({
      limit: policy.limit,
      interval: policy.interval,
      burst: policy.burst,
    });
    this.block = Math.ceil(policy.limit / 10) + policy.burst;
  }

  allows(ready: boolean): boolean {
    if (this.fallback !== null) return this.fallback.allows(ready);
    if (this.available() > 0) return true;
    if (ready) this.request(this.block);
    return false;
  }

  started(): void {
    if (this.fallback !== null) this.fallback.started();
    else this.budget--;
  }

  room(ready: number, wanted: number): number {
    if (this.fallback !== null) return this.fallback.room(ready);
    const room = this.available() - ready;
    if (room <= 0 && (wanted > 0 || ready > 0)) {
      this.request(Math.max(1, Math.min(Math.max(0, wanted) - room, this.max())));
    }
    return room;
  }

  dispose(): void {
    this.disposed = true;
    this.taking?.abort();
    this.taking = null;
    this.wait?.unsubscribe();
    this.wait = null;
    this.fallback?.dispose();
    this.fallback = null;
  }

  private max(): number {
    return this.policy.limit + this.policy.burst;
  }

  private available(): number {
    if (this.budget > 0 && this.scheduler.now() >= this.lapses) this.budget = 0;
    return this.budget;
  }

  /** Asks the limiter for `wanted` permits, unless a take or a wait is under way. */
  private request(wanted: number): void {
    if (this.taking !== null || this.wait !== null || this.disposed) return;
    const controller = new AbortController();
    this.taking = controller;
    let answer: Promise<{ readonly granted: number; readonly retryAfter?: number }>;
    try {
      answer = this.limiter.take(wanted, this.rate, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (grant) => {
        if (this.taking !== controller) return;
        this.taking = null;
        this.granted(wanted, grant.granted, grant.retryAfter);
      },
      (error: unknown) => {
        if (this.taking !== controller) return;
        this.taking = null;
        this.failed(error);
      },
    );
  }

  private granted(wanted: number, granted: number, retryAfter: number | undefined): void {
    if (this.failures > 0) {
      this.logger.info(
        `the shared rate limiter answers again after ${this.failures} failed attempts`,
      );
      this.failures = 0;
      this.fallback?.dispose();
      this.fallback = null;
    }
    const count = Number.isFinite(granted) ? Math.max(0, Math.min(wanted, Math.floor(granted))) : 0;
    if (count > 0) {
      this.budget = this.available() + count;
      this.lapses = this.scheduler.now() + this.policy.interval;
    } else {
      const delay =
        retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter > 0
          ? retryAfter
          : this.policy.interval / this.policy.limit;
      this.waitFor(delay);
    }
    this.wake();
  }

  private failed(error: unknown): void {
    if (this.failures === 0) {
      this.logger.warn(
        this.policy.onLimiterError === 'closed'
          ? `the shared rate limiter cannot answer (${describeError(error)}): no new transactions until it does (onLimiterError: closed)`
          : `the shared rate limiter cannot answer (${describeError(error)}): this process keeps the limit on its own until it does (onLimiterError: open)`,
      );
      if (this.policy.onLimiterError === 'open') {
        this.fallback = new RateGate(this.rate, this.scheduler, this.wake);
      }
    }
    this.waitFor(backoffDelay(limiterBackoff, this.failures++));
    this.wake();
  }

  /** Asks again after `delay` ms (during an `open` outage, for a block, to see it is back). */
  private waitFor(delay: number): void {
    this.wait?.unsubscribe();
    this.wait = timer(Math.ceil(delay), this.scheduler).subscribe(() => {
      this.wait = null;
      if (this.fallback !== null) this.request(this.block);
      else this.wake();
    });
  }
}
