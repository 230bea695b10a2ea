import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * The time source of one engine run: its scheduler plus one {@link DeadlineQueue} per
 * timeout duration in use. Disposing it cancels every pending deadline.
 */
export class EngineClock {
  private readonly queues = new Map<number, DeadlineQueue>();

  constructor(readonly scheduler: SchedulerLike = asyncScheduler) {}

  /** A deadline `durationMs` from now; `subject` is handed back to `target` with it. */
  deadline(durationMs: number, target: DeadlineTarget, subject?: unknown): Deadline {
    let queue = this.queues.get(durationMs);
    if (queue === undefined) {
      queue = new DeadlineQueue(this.scheduler, durationMs);
      this.queues.set(durationMs, queue);
    }
    return queue.add(target, subject);
  }

  dispose(): void {
    for (const queue of this.queues.values()) queue.dispose();
    this.queues.clear();
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
    readonly at: number,
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
 */
export class DeadlineQueue {
  private entries: Deadline[] = [];
  private head = 0;
  private live = 0;
  private action: Subscription | null = null;
  private firing = false;

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
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    } else if (this.entries.length - this.head > 2 * this.live + 64) {
      this.entries = this.entries.filter(
        (entry, index) => index >= this.head && entry.target !== null,
      );
      this.head = 0;
    }
  }

  /** Cancels the scheduled action; registered deadlines will not expire. */
  dispose(): void {
    this.disarm();
    this.entries = [];
    this.head = 0;
    this.live = 0;
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
      if (target !== null && entry.at > now) break;
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
    } else if (this.action === null) {
      this.arm((this.entries[this.head] as Deadline).at);
    }
  }
}
