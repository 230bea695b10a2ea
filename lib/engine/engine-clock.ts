import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { DeadlineQueue, type Deadline, type DeadlineTarget } from './deadline-queue.js';

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
