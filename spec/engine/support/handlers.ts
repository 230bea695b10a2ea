import { finalize, map, mergeMap, NEVER, throwError, timer, type Observable } from 'rxjs';
import { consumerTask, type ConsumerTask, type Transaction } from '../../../lib/index.js';
import { Gauge, now } from './virtual-time.js';

/** Emits `value` after `ms` (virtual time inside `TestScheduler.run`), then completes. */
export function after<T>(ms: number, value: T): Observable<T> {
  return timer(ms).pipe(map(() => value));
}

/** Errors with `error` after `ms`. */
export function failAfter(ms: number, error: unknown): Observable<never> {
  return timer(ms).pipe(mergeMap(() => throwError(() => error)));
}

/** A task whose `process` takes `duration(payload)` ms and returns the payload. */
export interface TimedTask {
  readonly task: ConsumerTask<string, string>;
  /** Transactions inside `process` at once. */
  readonly gauge: Gauge;
  /** `payload@time` of every process start. */
  readonly starts: string[];
  /** Every process signal, by payload. */
  readonly signals: Map<string, AbortSignal>;
}

/**
 * A task whose process takes `duration(payload)` ms of (virtual) time, or hangs when the
 * duration is `Infinity`.
 */
export function timedTask(duration: (payload: string) => number = () => 0): TimedTask {
  const gauge = new Gauge();
  const starts: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const task = consumerTask({
    process: (tx: Transaction<string>, ctx) => {
      gauge.enter();
      starts.push(`${tx.payload}@${now()}`);
      signals.set(tx.payload, ctx.signal);
      const ms = duration(tx.payload);
      const work = ms === Infinity ? NEVER : after(ms, tx.payload);
      return work.pipe(finalize(() => gauge.exit()));
    },
  });
  return { task, gauge, starts, signals };
}

/** `['a', 'b', …]`, `count` letters long. */
export function letters(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i < 26 ? String.fromCharCode(97 + i) : `x${i}`));
}
