import type { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { Transaction } from '../core/transaction.js';
import type { HandlerContext } from '../engine/handler-context.js';

/** One call of a {@link marbleHandler}: which transaction, which attempt, when. */
export interface RecordedCall {
  readonly id: string;
  readonly attempt: number;
  readonly frame: number;
  /** Whether the attempt's signal was aborted, read when the test inspects it. */
  readonly aborted: () => boolean;
}

/** A handler that plays marble diagrams, with the record of its calls. */
export interface MarbleHandler<R> {
  (transaction: Transaction, context: HandlerContext): Observable<R>;
  readonly calls: RecordedCall[];
}

/**
 * A handler that runs in virtual time: for transaction `id`, attempt `n` plays
 * `script[id][n - 1]` (the last entry repeats; a plain string is used for every attempt),
 * and transactions without a script play `script['*']`. Values come from `values`; `#`
 * errors with `error`. Use it for `process`, `onSuccess` or `onException` inside
 * `TestScheduler.run`.
 *
 * @example
 * ```ts
 * // 'a' fails twice after 2 frames, then succeeds after 3; everything else takes 5 frames.
 * const process = marbleHandler(testScheduler, { a: ['--#', '--#', '---(r|)'], '*': '-----(r|)' }, { r: 'done' });
 * const task = consumerTask({ process });
 * // later: process.calls → [{ id: 'a', attempt: 1, frame: 0 }, …]
 * ```
 */
export function marbleHandler<R = string>(
  scheduler: TestScheduler,
  script: Readonly<Record<string, string | readonly string[]>>,
  values?: Readonly<Record<string, R>>,
  error: unknown = new Error('marble handler failure'),
): MarbleHandler<R> {
  const calls: RecordedCall[] = [];
  const handler = (transaction: Transaction, context: HandlerContext) => {
    const entry = script[transaction.id] ?? script['*'];
    if (entry === undefined) {
      throw new Error(`marbleHandler: no script for transaction "${transaction.id}" and no "*"`);
    }
    const marbles = typeof entry === 'string' ? [entry] : entry;
    const marble = marbles[Math.min(context.attempt, marbles.length) - 1] as string;
    const signal = context.signal;
    calls.push({
      id: transaction.id,
      attempt: context.attempt,
      frame: scheduler.now(),
      aborted: () => signal.aborted,
    });
    return scheduler.createColdObservable<R>(marble, values, error);
  };
  return Object.assign(handler, { calls });
}
