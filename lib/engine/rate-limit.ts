import {
  asyncScheduler,
  concatMap,
  defer,
  map,
  of,
  timer,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { type RateLimitInput, rateLimitPolicy } from '../policy/policy-sections.js';
import { RateSchedule } from './internal/flow-gates.js';

/**
 * Delays values so that at most `limit` are emitted per `interval` (plus `burst` at once
 * after a pause), keeping their order: a token bucket on the scheduler, so it runs in virtual
 * time too. Nothing is dropped; values wait in order (the buffer is unbounded, as with
 * `concatMap`). Completion waits for the last value; an error is forwarded at once.
 *
 * ```
 * source:                         (abcde)--------------|
 * rateLimit({ limit: 2, interval: 10 })
 * result:                         a----b----c----d----e|
 * ```
 *
 * @example
 * ```ts
 * orders$.pipe(
 *   rateLimit({ limit: 100, interval: '1s', burst: 20 }),
 *   mergeMap((order) => callPartnerApi(order), 8),
 * ).subscribe();
 * ```
 * @throws PolicyError (when called) for a limit that is not a positive integer, an interval
 *   that is not a positive duration, or a negative burst.
 */
export function rateLimit<T>(
  input: RateLimitInput,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  const limit = rateLimitPolicy(input);
  return (source) =>
    defer(() => {
      const schedule = new RateSchedule(limit);
      return source.pipe(
        // Each value's time is set when it arrives, in order, on the exact schedule (so a
        // sub-millisecond spacing keeps its rate); it goes at that time's whole millisecond,
        // rounded up: never early, and no drift.
        map((value) => {
          const exact = schedule.nextAt(scheduler.now());
          schedule.take(exact);
          return { value, at: Math.ceil(exact) };
        }),
        concatMap(({ value, at }) => {
          const now = scheduler.now();
          return at <= now ? of(value) : timer(at - now, scheduler).pipe(map(() => value));
        }),
      );
    });
}
