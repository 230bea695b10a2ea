import { describeError } from '../../core/renderers.js';
import { logError, type Logger } from '../../core/logging.js';
import { context as otelContext } from '@opentelemetry/api';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { TransactionRuntime } from '../../policy/policy-sections.js';
import type { Deadline, DeadlineTarget, EngineClock } from './engine-clock.js';
import type { Lifecycle } from './lifecycle.js';

/** loglevel's number for `debug`: a logger at this level or below prints stacks. */
const debugLevel = 1;

/**
 * Whether `logger` lets `debug` records through, so a failure line may carry the error
 * itself (its stack). Loggers that cannot say (not loglevel ones) get the one-line
 * description only.
 */
function showsStacks(logger: Logger): boolean {
  const getLevel: unknown = (logger as { getLevel?: unknown }).getLevel;
  if (typeof getLevel !== 'function') return false;
  try {
    const level: unknown = getLevel.call(logger);
    return typeof level === 'number' && level <= debugLevel;
  } catch {
    return false;
  }
}

/**
 * Writes one line about a failure: the message with the error's one-line description, and
 * the error itself (stack and all) only when the logger is at `debug` or below. Never throws
 * (see {@link logError}).
 */
function write(
  logger: Logger,
  level: 'debug' | 'warn' | 'error',
  message: string,
  error: unknown,
): void {
  const line = `${message}: ${describeError(error)}`;
  if (level === 'debug' || showsStacks(logger)) {
    logError(logger, level, line, error);
    return;
  }
  try {
    logger[level](line);
  } catch {
    // A broken log line must not break the work it reports on.
  }
}

/**
 * How log lines and timeout errors name attempt `attempt` of `stage`: `process attempt 2`, and
 * plain `attempt 2` for a function run by `attempt()` (its stage is `attempt`).
 */
export function attemptLabel(stage: string, attempt: number): string {
  return stage === 'attempt' ? `attempt ${attempt}` : `${stage} attempt ${attempt}`;
}

/**
 * Logs a failed attempt of a stage that will be retried: one `warn` line, without a stack
 * unless the logger is at `debug`.
 *
 * @example
 * ```ts
 * attemptWillRetry(logger, 'process', 1, 3, 200, error);
 * // warn: process attempt 1 of 3 failed, retrying in 200 ms: Error: gateway busy
 * ```
 */
export function attemptWillRetry(
  logger: Logger,
  stage: string,
  attempt: number,
  maxAttempts: number,
  delay: number,
  error: unknown,
): void {
  write(
    logger,
    'warn',
    `${attemptLabel(stage, attempt)} of ${maxAttempts} failed, retrying in ${delay} ms`,
    error,
  );
}

/**
 * Logs the last failed attempt of a stage at `debug` (with the error): what happens next
 * (onException handles it, or the transaction fails for good) is logged where it is known.
 * `retried` is `false` when the error ended retries early (`NonRetryableError`).
 */
export function stageGaveUp(
  logger: Logger,
  stage: string,
  attempts: number,
  retried: boolean,
  error: unknown,
): void {
  const message =
    attempts === 1
      ? `${stage} failed${retried ? '' : ' (not retried)'}`
      : `${stage} failed after ${attempts} attempts${retried ? '' : ' (not retried further)'}`;
  write(logger, 'debug', message, error);
}

/**
 * Logs a transaction that failed for good (no onException, or onException failed too) at
 * `error`: `deadLettered` says whether its connector dead-letters it.
 */
export function transactionFailed(
  logger: Logger,
  transactionId: string,
  deadLettered: boolean,
  error: unknown,
): void {
  write(
    logger,
    'error',
    `transaction ${transactionId} failed${deadLettered ? ' and is dead-lettered' : ''}`,
    error,
  );
}

/**
 * Logs that a transaction could not be settled because its delivery is gone (the connection
 * or channel it came on closed, the entry is pending for another consumer): one `warn` line
 * saying the broker will redeliver it, the words the Python reference's users grep for.
 */
export function deliveryLost(logger: Logger, transactionId: string, error: unknown): void {
  write(
    logger,
    'warn',
    `transaction ${transactionId} could not be settled, its delivery was lost; the broker will redeliver it`,
    error,
  );
}

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
export class SlowTransactionNotice<P, R, A> implements DeadlineTarget {
  constructor(
    private readonly setting: SlowNoticeSetting,
    private readonly clock: EngineClock,
  ) {}

  /** Watches `lifecycle` from now on; cancel the deadline when the lifecycle ends. */
  watch(lifecycle: Lifecycle<P, R, A>): Deadline {
    return this.clock.deadline(this.setting.after, this, lifecycle);
  }

  expire(deadline: Deadline): void {
    const lifecycle = deadline.subject as Lifecycle<P, R, A>;
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
