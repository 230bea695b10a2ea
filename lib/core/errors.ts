import type { DispatchFailure } from './connector.js';
import { isSecretKey, MASK, maskCredentials } from './mask-credentials.js';
import type { ReleaseReason } from './outcome.js';
import { describeError } from './renderers.js';
import { isInstance, readProperty } from './safe-access.js';

// The errors of the core and of the connector contract: `ErgonError`, the base of every error
// ergon-rx throws, and its subclasses that any layer raises or a caller catches. Errors of one
// connector or one layer (the engine, the runner, a broker) live in that layer's own module.

/**
 * Base class of every error ergon-rx throws, so callers can tell framework errors apart
 * from their own with one `instanceof` check. Credentials in the message (a URL's password,
 * a token) are masked, in the message and so in the stack.
 */
export class ErgonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(maskCredentials(message), options);
    this.name = new.target.name;
  }
}

/**
 * Thrown by user code to stop retrying at once: the stage fails on this attempt whatever
 * its `maxAttempts`, and the transaction goes straight to its exception handler.
 *
 * @example
 * ```ts
 * process: (tx) => {
 *   if (!isValid(tx.payload)) throw new NonRetryableError('payload has no customer id');
 *   return save(tx.payload);
 * }
 * ```
 */
export class NonRetryableError extends ErgonError {}

/** Why a transaction failed: its own data (`business`), the infrastructure (`system`), or time. */
export type ErrorCategory = 'business' | 'system' | 'timeout';

/**
 * Which handler of the lifecycle raised an error (`decode`: the payload could not be decoded;
 * `key`: the task's `key` function failed; `attempt`: a function run by `attempt()`, outside
 * any lifecycle).
 */
export type Stage =
  | 'process'
  | 'success'
  | 'exception'
  | 'prepare'
  | 'dispatch'
  | 'fetch'
  | 'decode'
  | 'key'
  | 'attempt';

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

/** An attempt of a handler ran past its `retry.timeout` and was cancelled. */
export class AttemptTimeoutError extends ErgonError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, what = 'attempt') {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A consume loop or a produce run ran past `loop.timeout`; unfinished work was cancelled and released. */
export class LoopTimeoutError extends ErgonError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, loop = 'consume loop') {
    super(`${loop} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The abort reason of an attempt cancelled from outside (stop, unsubscribe, loop timeout):
 * `signal.throwIfAborted()` throws it, and `reason` says why.
 */
export class CancellationError extends ErgonError {
  readonly reason: ReleaseReason;
  constructor(reason: ReleaseReason) {
    super(`cancelled: ${reason}`);
    this.reason = reason;
  }
}

/**
 * Thrown (or rejected) by a connector's `settle` when the delivery it should settle is gone
 * (its channel or connection died). The broker redelivers such a message, so the engine
 * reports the transaction as `released` with reason `connectionLost`, whatever its
 * lifecycle's result was: it will be processed again.
 */
export class DeliveryLostError extends ErgonError {}

/** A connector's fetch kept failing after every attempt of `fetch.retry`; the loop stops. */
export class FetchError extends ErgonError {
  /** `true` when the last attempt failed by timing out. */
  readonly timedOut: boolean;
  constructor(cause: unknown, timedOut: boolean) {
    super(`fetch failed${timedOut ? ' (timed out)' : ''}: ${describeError(cause)}`, { cause });
    this.timedOut = timedOut;
  }
}

/** Some transactions handed to a dispatcher were not dispatched; `failures` says which and why. */
export class DispatchError<P = unknown> extends ErgonError {
  readonly failures: readonly DispatchFailure<P>[];

  constructor(failures: readonly DispatchFailure<P>[], total: number) {
    const first = failures[0];
    super(
      `${failures.length} of ${total} transactions were not dispatched` +
        (first === undefined ? '' : `; ${first.transaction.id}: ${describeError(first.error)}`),
      { cause: first?.error },
    );
    this.failures = failures;
  }
}

/**
 * A dispatched transaction was not stored because the destination already holds a
 * different transaction (another payload) under the same id: it is reported as this
 * transaction's failure instead of being dropped silently. Give transactions unique ids
 * (`createTransaction` makes UUIDs), or dispatch the same payload again (an idempotent
 * retry succeeds).
 */
export class DispatchConflictError extends ErgonError {
  readonly transactionId: string;
  constructor(transactionId: string, where: string) {
    super(
      `transaction ${JSON.stringify(transactionId)} was not stored: ${where} already holds a different transaction with this id; give each transaction its own id`,
    );
    this.transactionId = transactionId;
  }
}

/** `createTransaction` was given something that cannot make a transaction (e.g. a numeric id). */
export class InvalidTransactionError extends ErgonError {}

/** One wrong value in a policy or configuration. */
export interface PolicyIssue {
  /** Dotted path of the value, e.g. `loop.concurrency.value` (empty for the root). */
  readonly path: string;
  /** What was expected there, e.g. `positive integer`, or `no such key` for unknown keys. */
  readonly expected: string;
  /** The value that was given, rendered for a log line. */
  readonly actual: string;
}

/**
 * A policy or configuration could not be decoded. The message lists every wrong path, one
 * per line, as `path: expected X, got Y`; `issues` holds the same list for programs. A value
 * under a key named like a secret (`password`, `token`, …) shows as `***`, credentials in
 * other values are masked (`maskCredentials`).
 */
export class PolicyError extends ErgonError {
  readonly issues: readonly PolicyIssue[];
  constructor(subject: string, given: readonly PolicyIssue[]) {
    const issues = given.map((issue) => ({
      ...issue,
      actual: isSecretKey(issue.path) ? MASK : maskCredentials(issue.actual),
    }));
    const lines = issues.map(
      (issue) => `  ${issue.path || '(root)'}: expected ${issue.expected}, got ${issue.actual}`,
    );
    super(`invalid ${subject}:\n${lines.join('\n')}`);
    this.issues = issues;
  }
}

/** A connector was used after `close()`. */
export class ConnectorClosedError extends ErgonError {}

/** A connector broke its contract (fetch returned no Observable, or emitted a non-transaction). */
export class ConnectorContractError extends ErgonError {}

/** A transaction was settled twice, or settled by a connector that never fetched it. */
export class SettlementError extends ErgonError {}

/**
 * Thrown (or rejected with) by a handler when its downstream said "too many requests": the
 * run stops starting new transactions for `retryAfter` milliseconds (without it: 1 s,
 * doubling while the downstream keeps refusing, up to 1 min), then tries this transaction
 * again. The attempt does not count against `maxAttempts`; the pause is logged once. An error
 * with HTTP status 429 (`status`, `statusCode` or `response.status`) is treated the same,
 * its `Retry-After` header giving the pause.
 *
 * @example
 * ```ts
 * process: async (tx, { signal }) => {
 *   const response = await fetch(url, { method: 'POST', body: JSON.stringify(tx.payload), signal });
 *   if (response.status === 429) {
 *     throw new RateLimitedError(Number(response.headers.get('retry-after') ?? 1) * 1000);
 *   }
 * }
 * ```
 */
export class RateLimitedError extends ErgonError {
  /** How long to wait, in milliseconds, or `undefined` for the default pause. */
  readonly retryAfter: number | undefined;

  constructor(retryAfter?: number, message?: string) {
    super(
      message ??
        (retryAfter === undefined
          ? 'rate limited by the downstream'
          : `rate limited by the downstream, retry after ${retryAfter} ms`),
    );
    this.retryAfter =
      retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0
        ? retryAfter
        : undefined;
  }
}

/**
 * Thrown (or returned from `onException`) by a handler to hand the transaction back for
 * redelivery after `delay` milliseconds, durably: the connector keeps it (a row's
 * `available_at`, a delayed set, a delayed `-NAK`, a delay queue, a retry file) and the slot
 * is free at once. No other attempt runs now, `onException` does not run for it, and the
 * outcome is `released` with reason `retryLater` and the delay. The delivery count goes on.
 * A connector that cannot delay (its `scheduling.delayedRelease` is not `true`) turns it into
 * a failure naming the connector; see docs/scheduling.md.
 *
 * @example
 * ```ts
 * process: async (tx) => {
 *   const invoice = await findInvoice(tx.payload.invoiceId);
 *   if (invoice === undefined) throw new RetryLaterError(10 * 60_000, 'invoice not booked yet');
 *   return pay(invoice);
 * }
 * ```
 * @throws RangeError when `delay` is not a finite number of milliseconds ≥ 0.
 */
export class RetryLaterError extends ErgonError {
  /** How long the transaction waits before it is delivered again, in milliseconds. */
  readonly delay: number;
  /** Why, as the handler said it (also in the message). */
  readonly reason: string | undefined;

  /**
   * @param delay milliseconds before the transaction is delivered again (rounded up).
   * @param reason why, for the outcome and the logs.
   * @param options.cause what failed, when the retry-later stands for a failure (a backoff
   * that `durableAfter` made durable).
   */
  constructor(delay: number, reason?: string, options?: { cause?: unknown }) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new RangeError(
        `RetryLaterError needs a delay in milliseconds (a finite number ≥ 0), got ${String(delay)}`,
      );
    }
    super(
      `retry later, in ${Math.ceil(delay)} ms${reason === undefined ? '' : `: ${reason}`}`,
      options,
    );
    this.delay = Math.ceil(delay);
    this.reason = reason;
  }
}

/**
 * Thrown (or returned from `onException`) by a handler to dead-letter the transaction at once
 * with `reason`: no other attempt, no `onException`. The outcome is `failed`, its error a
 * `TransactionError` (category `business`) whose cause is this error; the connector's dead
 * letter carries the reason.
 *
 * @example
 * ```ts
 * process: (tx) => {
 *   if (tx.payload.amount < 0) throw new DeadLetterError('negative amount: fix the order by hand');
 *   return book(tx.payload);
 * }
 * ```
 */
export class DeadLetterError extends NonRetryableError {
  readonly reason: string;
  constructor(reason: string) {
    super(`dead-lettered: ${reason}`);
    this.reason = reason;
  }
}

/**
 * The connector cannot hold a released transaction back for a delay (its
 * `scheduling.delayedRelease` is not `true`), so a `RetryLaterError` or a
 * `process.retry.durableAfter` cannot be honoured durably: thrown at the start of `consume`
 * for `durableAfter`, and the cause of the failure of a transaction whose handler asked to
 * retry later. docs/scheduling.md lists which connectors can.
 */
export class DelayedReleaseUnsupportedError extends NonRetryableError {}

/**
 * A transaction's `metadata.notBefore` or `metadata.priority` is not a value the connector can
 * use, or asks for scheduling the connector cannot do (see docs/scheduling.md): reported as
 * that transaction's dispatch failure, never ignored.
 */
export class ScheduleError extends NonRetryableError {}

/**
 * A `partitionedConnector` was built wrong: no partitions, something that is not a connector
 * among them, or a `consume` list with an index that is out of range, not an integer, or
 * repeated. The message says which and how to fix it.
 */
export class PartitionConfigError extends ErgonError {}

/**
 * A partition of a `partitionedConnector` lacks what a call needs (`dispatch`, `count`,
 * `fetchById`). Retrying cannot help, so the dispatch stage stops at once.
 */
export class PartitionCapabilityError extends NonRetryableError {
  /** The partition index. */
  readonly partition: number;
  /** The connector method it lacks. */
  readonly capability: string;
  constructor(partition: number, capability: string, message: string) {
    super(message);
    this.partition = partition;
    this.capability = capability;
  }
}
