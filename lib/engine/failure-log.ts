import { describeError } from '../core/renderers.js';
import { logError, type Logger } from '../core/logging.js';

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
    `${stage} attempt ${attempt} of ${maxAttempts} failed, retrying in ${delay} ms`,
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
