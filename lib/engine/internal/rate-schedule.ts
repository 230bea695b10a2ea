import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { RateLimit } from '../../policy/policy-sections.js';

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
    if (at >= this.dueAfter(0)) {
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
