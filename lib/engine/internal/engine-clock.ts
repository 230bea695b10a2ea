import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { objectArray } from '../../core/object-array.js';

/**
 * The time source of one engine run: its scheduler plus one {@link DeadlineQueue} per
 * timeout duration in use. Disposing it cancels every pending deadline.
 *
 * Reading the clock costs as much as the rest of a no-op transaction's budget deadline
 * (`Date.now()`, about 60 ns), so inside a pass of the run ({@link beginPass} …
 * {@link endPass}) deadlines are registered unstamped and stamped together at the end of the
 * pass with one reading taken then: never earlier than any of them was registered, so no
 * deadline fires early; in real time one fires late by at most the rest of its pass (the
 * synchronous work of one step), and in virtual time, where a synchronous pass takes no
 * time, every deadline is exact.
 */
export class EngineClock {
  private readonly queues = new Map<number, DeadlineQueue>();
  /** Passes under way (nested when a pass re-enters the clock): registrations wait for the stamp. */
  private passes = 0;
  /** Queues holding deadlines registered in the current pass, to stamp at its end. */
  private readonly unstamped: DeadlineQueue[] = objectArray();

  constructor(readonly scheduler: SchedulerLike = asyncScheduler) {}

  /**
   * Makes the queue of each duration (`null`: none) before the first deadline. A run that
   * knows its durations makes them here, when it starts: made by the first deadline, they
   * were made in a process's first run before any code was optimized, and in every later run
   * inside optimized code that had never taken that branch, which threw it away (`Insufficient
   * type feedback` in `--trace-deopt`, for everything that inlined {@link deadline}).
   */
  prepare(durations: readonly (number | null)[]): void {
    for (const duration of durations) if (duration !== null) this.queueFor(duration);
  }

  /** A deadline `durationMs` from now; `subject` is handed back to `target` with it. */
  deadline(durationMs: number, target: DeadlineTarget, subject?: unknown): Deadline {
    const queue = this.queues.get(durationMs) ?? this.queueFor(durationMs);
    if (this.passes === 0) return queue.add(target, subject);
    if (!queue.awaitsStamp) this.unstamped.push(queue);
    return queue.addUnstamped(target, subject);
  }

  private queueFor(durationMs: number): DeadlineQueue {
    let queue = this.queues.get(durationMs);
    if (queue === undefined) {
      queue = new DeadlineQueue(this.scheduler, durationMs);
      this.queues.set(durationMs, queue);
    }
    return queue;
  }

  /** A pass begins: deadlines registered until the matching {@link endPass} share one stamp. */
  beginPass(): void {
    this.passes++;
  }

  /** The pass ended: stamps what it registered with the time now (one clock reading). */
  endPass(): void {
    if (--this.passes > 0 || this.unstamped.length === 0) return;
    const now = this.scheduler.now();
    for (const queue of this.unstamped) queue.stamp(now);
    this.unstamped.length = 0;
  }

  dispose(): void {
    for (const queue of this.queues.values()) queue.dispose();
    this.queues.clear();
    this.unstamped.length = 0;
  }
}

/** Something that must be told when its deadline passes. */
export interface DeadlineTarget {
  /** `deadline` is the one that passed (its `subject` says for what, when one target serves many). */
  expire(deadline: Deadline): void;
}

/** A registered deadline. */
export class Deadline {
  constructor(
    /** When it expires; `NaN` until its queue stamps it (see {@link EngineClock.endPass}). */
    public at: number,
    public target: DeadlineTarget | null,
    private readonly queue: DeadlineQueue,
    /** What the deadline is for, when its target serves several (`undefined` otherwise). */
    readonly subject?: unknown,
  ) {}

  /** Withdraws the deadline; its target will not be told. Idempotent. */
  cancel(): void {
    this.queue.cancel(this);
  }
}

/**
 * Deadlines that all have the same duration. Since they are registered in time order they
 * expire in that order too, so one scheduled action (for the oldest live deadline) serves
 * them all: registering and cancelling cost no timer, which keeps a per-transaction budget
 * off the hot path. Cancelled entries are dropped lazily and compacted, so the queue holds
 * O(live deadlines) entries. The action stays armed when the queue empties (re-arming a timer
 * per batch would churn timer objects); when it fires early it simply re-arms for the oldest
 * live deadline, if any. Time goes through the given scheduler (virtual in tests).
 * Deadlines added with {@link addUnstamped} wait at the tail, neither due nor armed, until
 * {@link stamp} gives them their time.
 */
export class DeadlineQueue {
  /** Compacted in place, never replaced (see `objectArray` and EngineRun's constructor). */
  private readonly entries: Deadline[] = objectArray();
  private head = 0;
  private live = 0;
  private action: Subscription | null = null;
  private firing = false;
  /** Holds deadlines that wait for {@link stamp}. */
  awaitsStamp = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly duration: number,
  ) {}

  add(target: DeadlineTarget, subject?: unknown): Deadline {
    const deadline = new Deadline(this.scheduler.now() + this.duration, target, this, subject);
    this.entries.push(deadline);
    this.live++;
    if (this.action === null && !this.firing) this.arm(deadline.at);
    return deadline;
  }

  /**
   * Adds a deadline whose time is set by the next {@link stamp} (the registration time is not
   * read); until then it is never due.
   */
  addUnstamped(target: DeadlineTarget, subject?: unknown): Deadline {
    const deadline = new Deadline(Number.NaN, target, this, subject);
    this.entries.push(deadline);
    this.live++;
    this.awaitsStamp = true;
    return deadline;
  }

  /**
   * Gives every unstamped deadline the time `now + duration`; `now` must not be earlier than
   * any of them was added. They are the tail of the queue (added last, kept in order).
   */
  stamp(now: number): void {
    if (!this.awaitsStamp) return;
    this.awaitsStamp = false;
    const at = now + this.duration;
    let index = this.entries.length - 1;
    while (index >= this.head && Number.isNaN((this.entries[index] as Deadline).at)) {
      (this.entries[index] as Deadline).at = at;
      index--;
    }
    if (this.live > 0 && this.action === null && !this.firing) {
      this.arm((this.entries[this.head] as Deadline).at);
    }
  }

  cancel(deadline: Deadline): void {
    if (deadline.target === null) return;
    deadline.target = null;
    this.live--;
    if (this.live === 0) {
      this.entries.length = 0;
      this.head = 0;
      return;
    }
    // Deadlines mostly end in the order they began: drop cancelled entries from the front,
    // and copy the live part down once the front holds most of the array.
    while (this.head < this.entries.length && (this.entries[this.head] as Deadline).target === null)
      this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries.copyWithin(0, this.head);
      this.entries.length -= this.head;
      this.head = 0;
    } else if (this.entries.length - this.head > 2 * this.live + 64) {
      let kept = 0;
      for (let index = this.head; index < this.entries.length; index++) {
        const entry = this.entries[index] as Deadline;
        if (entry.target !== null) this.entries[kept++] = entry;
      }
      this.entries.length = kept;
      this.head = 0;
    }
  }

  /** Cancels the scheduled action; registered deadlines will not expire. */
  dispose(): void {
    this.disarm();
    this.entries.length = 0;
    this.head = 0;
    this.live = 0;
    this.awaitsStamp = false;
  }

  private arm(at: number): void {
    this.action = this.scheduler.schedule(
      () => this.fire(),
      Math.max(0, at - this.scheduler.now()),
    );
  }

  private disarm(): void {
    this.action?.unsubscribe();
    this.action = null;
  }

  private fire(): void {
    this.action = null;
    this.firing = true;
    const now = this.scheduler.now();
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as Deadline;
      const target = entry.target;
      // `!(at <= now)`: an unstamped deadline (`NaN`) is not due either.
      if (target !== null && !(entry.at <= now)) break;
      this.head++;
      if (target === null) continue;
      entry.target = null;
      this.live--;
      target.expire(entry);
    }
    this.firing = false;
    if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    } else if (this.action === null && !Number.isNaN((this.entries[this.head] as Deadline).at)) {
      this.arm((this.entries[this.head] as Deadline).at);
    }
  }
}
