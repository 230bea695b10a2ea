import { context as otelContext } from '@opentelemetry/api';
import type { RetryPolicy } from '../policy/retry-policy.js';
import type { TransactionRuntime } from '../policy/policy-sections.js';
import type { Deadline, DeadlineTarget } from './deadline-queue.js';
import type { EngineClock } from './engine-clock.js';
import type { Lifecycle } from './lifecycle.js';

/** When a run logs a transaction that is still running. */
export interface SlowNoticeSetting {
  /** Milliseconds after its start. */
  readonly after: number;
  /** The budget it was derived from, for the message (`null` when `noticeAfter` was given). */
  readonly budget: number | null;
}

/**
 * The notice setting of a run: `transactionRuntime.noticeAfter` when given, else half the
 * transaction's budget, the smallest of `transactionRuntime.timeout`, the main stage's
 * `retry.timeout × maxAttempts` and `loop.timeout`; `null` (no notice) for `false` or when
 * there is no budget at all.
 *
 * @example
 * ```ts
 * slowNoticeSetting({ timeout: 60_000, noticeAfter: null }, retry, null); // { after: 30000, budget: 60000 }
 * ```
 */
export function slowNoticeSetting(
  runtime: TransactionRuntime,
  mainRetry: RetryPolicy,
  loopTimeout: number | null,
): SlowNoticeSetting | null {
  if (runtime.noticeAfter === false) return null;
  if (runtime.noticeAfter !== null) return { after: runtime.noticeAfter, budget: null };
  const bounds = [
    runtime.timeout,
    mainRetry.timeout === null ? null : mainRetry.timeout * mainRetry.maxAttempts,
    loopTimeout,
  ].filter((bound): bound is number => bound !== null);
  if (bounds.length === 0) return null;
  const budget = Math.min(...bounds);
  return { after: Math.max(1, Math.floor(budget / 2)), budget };
}

/**
 * Logs, once per transaction, one that has run longer than {@link SlowNoticeSetting.after}:
 * its id, stage, attempt and elapsed time, at `warn` through the task's logger inside the
 * transaction's context. One per run; each transaction costs one deadline of the run's
 * {@link EngineClock} (one scheduled action for all of them, on the run's scheduler, disposed
 * with the run), so nothing of it keeps node alive after the run.
 */
export class SlowTransactionNotice<P, R> implements DeadlineTarget {
  constructor(
    private readonly setting: SlowNoticeSetting,
    private readonly clock: EngineClock,
  ) {}

  /** Watches `lifecycle` from now on; cancel the deadline when the lifecycle ends. */
  watch(lifecycle: Lifecycle<P, R>): Deadline {
    return this.clock.deadline(this.setting.after, this, lifecycle);
  }

  expire(deadline: Deadline): void {
    const lifecycle = deadline.subject as Lifecycle<P, R>;
    const { setting } = this;
    const elapsed = this.clock.scheduler.now() - (deadline.at - setting.after);
    const message =
      `transaction ${lifecycle.transaction.id} still running after ${elapsed} ms ` +
      `(stage ${lifecycle.currentStage}, attempt ${lifecycle.currentAttempt})` +
      (setting.budget === null ? '' : `; its budget is ${setting.budget} ms`);
    const logger = lifecycle.logger;
    const context = lifecycle.context;
    if (context === null) logger.warn(message);
    else otelContext.with(context, () => logger.warn(message));
  }
}
