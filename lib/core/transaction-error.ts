import { describeError } from './describe-error.js';
import { ErgonError } from './ergon-error.js';
import { NonRetryableError } from './non-retryable-error.js';
import { isInstance, readProperty } from './safe-access.js';

/** Why a transaction failed: its own data (`business`), the infrastructure (`system`), or time. */
export type ErrorCategory = 'business' | 'system' | 'timeout';

/**
 * Which handler of the lifecycle raised an error (`attempt`: a function run by `attempt()`,
 * outside any lifecycle).
 */
export type Stage =
  'process' | 'success' | 'exception' | 'prepare' | 'dispatch' | 'fetch' | 'decode' | 'attempt';

/**
 * A failure of one transaction's lifecycle. User code may throw it directly (usually with
 * category `business`) to say a transaction is wrong in itself; anything else thrown by a
 * handler is wrapped into one, keeping the original as `cause`.
 */
export class TransactionError extends ErgonError {
  readonly category: ErrorCategory;
  readonly transactionId: string | undefined;
  readonly stage: Stage | undefined;
  /** `true` when the stage must not be retried (set for wrapped {@link NonRetryableError}s). */
  readonly nonRetryable: boolean;

  constructor(
    message: string,
    options: {
      category?: ErrorCategory;
      transactionId?: string;
      stage?: Stage;
      cause?: unknown;
      nonRetryable?: boolean;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.category = options.category ?? 'system';
    this.transactionId = options.transactionId;
    this.stage = options.stage;
    this.nonRetryable = options.nonRetryable ?? false;
  }

  /**
   * Wraps anything thrown by a handler. A `TransactionError` passes through unchanged (it
   * keeps its category); a timeout becomes category `timeout`; anything else `system`.
   * The message names the stage, the transaction and the original error even when the
   * original's message is empty. Never throws, whatever was thrown.
   */
  static wrap(
    error: unknown,
    at: { transactionId?: string; stage?: Stage } = {},
  ): TransactionError {
    if (isInstance(error, TransactionError)) return error as TransactionError;
    const category: ErrorCategory = isTimeoutError(error) ? 'timeout' : 'system';
    const where = [
      at.stage,
      at.transactionId === undefined ? undefined : `transaction ${at.transactionId}`,
    ]
      .filter((part) => part !== undefined)
      .join(' of ');
    return new TransactionError(`${where ? `${where} failed: ` : ''}${describeError(error)}`, {
      category,
      transactionId: at.transactionId,
      stage: at.stage,
      cause: error,
      nonRetryable: isInstance(error, NonRetryableError),
    });
  }
}

function isTimeoutError(error: unknown): boolean {
  if (!isInstance(error, Error)) return false;
  const name = readProperty(error, 'name');
  return name === 'TimeoutError' || name === 'AttemptTimeoutError';
}
