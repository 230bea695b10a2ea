import { expect } from 'chai';
import { asyncScheduler, type Observable, type Subscription } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';

/** A TestScheduler whose assertions are chai deep equality. */
function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/**
 * Runs `body` in virtual time (inside `TestScheduler.run`, where `timer`, `asyncScheduler` and
 * the engine's default scheduler are virtual), with a safety net: virtual time stops at
 * `maxFrames` so a loop that never ends cannot hang the suite.
 */
export function inVirtualTime<T>(
  body: (helpers: RunHelpers, scheduler: TestScheduler) => T,
  maxFrames = 1_000_000,
): T {
  const scheduler = createTestScheduler();
  return scheduler.run((helpers) => {
    scheduler.maxFrames = maxFrames;
    return body(helpers, scheduler);
  });
}

/** The current time of the engine's default scheduler (virtual inside `TestScheduler.run`). */
export function now(): number {
  return asyncScheduler.now();
}

/** Counts how many things are "inside" at once and remembers the peak. */
export class Gauge {
  current = 0;
  peak = 0;

  enter(): void {
    this.current++;
    this.peak = Math.max(this.peak, this.current);
  }

  exit(): void {
    this.current--;
  }
}

/** What a subscription to an Observable saw, with the (virtual) time of each event. */
export interface Recording<T> {
  readonly values: T[];
  readonly times: number[];
  completedAt: number | null;
  erroredAt: number | null;
  error: unknown;
  readonly subscription: Subscription;
}

/** Subscribes to `source` and records what it emits and when. */
export function record<T>(source: Observable<T>): Recording<T> {
  const recording = {
    values: [] as T[],
    times: [] as number[],
    completedAt: null as number | null,
    erroredAt: null as number | null,
    error: undefined as unknown,
  };
  const subscription = source.subscribe({
    next: (value) => {
      recording.values.push(value);
      recording.times.push(now());
    },
    error: (error: unknown) => {
      recording.error = error;
      recording.erroredAt = now();
    },
    complete: () => (recording.completedAt = now()),
  });
  return Object.assign(recording, { subscription });
}
