import type { Transaction } from './transaction.js';
import type { RetryLaterError, TransactionError } from './errors.js';

/** Fields every outcome carries. */
interface OutcomeBase<P> {
  readonly transaction: Transaction<P>;
  /** Set when the connector's `settle` threw or rejected; the broker will usually redeliver. */
  readonly settleError?: unknown;
}

/** `process` (and `onSuccess`, if any) completed. Settled with `ack`. */
export interface SuccessOutcome<P, R> extends OutcomeBase<P> {
  readonly status: 'success';
  /** What `process` returned (the last value, for an Observable). */
  readonly result: R;
}

/** The lifecycle failed and `onException` handled it. Settled with `ack`. */
export interface ExceptionOutcome<P> extends OutcomeBase<P> {
  readonly status: 'exception';
  readonly error: TransactionError;
  /** What `onException` returned. */
  readonly handled: unknown;
}

/** The lifecycle failed and there was no `onException`, or it failed too. Dead-lettered. */
export interface FailedOutcome<P> extends OutcomeBase<P> {
  readonly status: 'failed';
  readonly error: TransactionError;
  /** Why `onException` failed, when there was one. */
  readonly handlerError?: TransactionError;
}

/**
 * The lifecycle ran out of time (its runtime budget, or the last attempt's timeout). Settled
 * with `ack` when `onException` handled it, dead-lettered otherwise.
 */
export interface TimeoutOutcome<P> extends OutcomeBase<P> {
  readonly status: 'timeout';
  /** Category `timeout`. */
  readonly error: TransactionError;
  /** `true` when `onException` ran and succeeded. */
  readonly handled: boolean;
  readonly handlerError?: TransactionError;
}

/**
 * Cancelled before its lifecycle finished (stop, unsubscribe, loop timeout), or handed back by
 * a handler (`RetryLaterError`, reason `retryLater`). Released for redelivery.
 */
export interface ReleasedOutcome<P> extends OutcomeBase<P> {
  readonly status: 'released';
  readonly reason: ReleaseReason;
  /** Reason `retryLater`: milliseconds before the transaction is delivered again. */
  readonly delay?: number;
  /** Reason `retryLater`: the `RetryLaterError` that asked for it. */
  readonly retryLater?: RetryLaterError;
}

/** The one result of one transaction's lifecycle, discriminated on `status`. */
export type Outcome<P = unknown, R = unknown> =
  | SuccessOutcome<P, R>
  | ExceptionOutcome<P>
  | FailedOutcome<P>
  | TimeoutOutcome<P>
  | ReleasedOutcome<P>;

/** Every outcome status, in lifecycle order. */
export type OutcomeStatus = Outcome['status'];

/** Every outcome status, in lifecycle order. */
export const outcomeStatuses: readonly OutcomeStatus[] = [
  'success',
  'exception',
  'failed',
  'timeout',
  'released',
];

/**
 * Whether `value` looks like an {@link Outcome}: an object with a known `status` and a
 * `transaction` (what a run emits besides outcomes, such as dispatch receipts, does not).
 */
export function isOutcome(value: unknown): value is Outcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (outcomeStatuses as readonly unknown[]).includes((value as { status?: unknown }).status) &&
    typeof (value as { transaction?: unknown }).transaction === 'object'
  );
}

const ack: SettleDecision = Object.freeze({ type: 'ack' });
const releases = new Map<ReleaseReason, SettleDecision>();

/**
 * The settlement an outcome calls for (design rule: success and handled failures are acked,
 * unhandled failures dead-lettered, cancelled work released).
 */
export function settleDecisionFor(outcome: Outcome): SettleDecision {
  switch (outcome.status) {
    case 'success':
    case 'exception':
      return ack;
    case 'timeout':
      return outcome.handled
        ? ack
        : { type: 'deadLetter', error: outcome.handlerError ?? outcome.error };
    case 'failed':
      return { type: 'deadLetter', error: outcome.handlerError ?? outcome.error };
    case 'released': {
      if (outcome.delay !== undefined && outcome.delay > 0) {
        return { type: 'release', reason: outcome.reason, delay: outcome.delay };
      }
      let decision = releases.get(outcome.reason);
      if (decision === undefined) {
        decision = Object.freeze({ type: 'release', reason: outcome.reason });
        releases.set(outcome.reason, decision);
      }
      return decision;
    }
  }
}

/** Why a transaction was handed back unfinished, to be delivered again. */
export type ReleaseReason =
  /** A graceful stop's grace period ran out, or the loop stopped before the transaction started. */
  | 'shutdown'
  /** The subscriber unsubscribed (hard stop). */
  | 'unsubscribe'
  /** `loop.timeout` expired. */
  | 'loopTimeout'
  /** A connector returned more than `loop.limit` allowed; the surplus goes back unprocessed. */
  | 'overLimit'
  /** The connector lost the delivery before it could settle it; the broker redelivers it. */
  | 'connectionLost'
  /** `loop.circuitBreaker` opened: fetched transactions that had not started go back. */
  | 'circuitOpen'
  /**
   * A handler threw `RetryLaterError` (or `process.retry.durableAfter` turned a long backoff
   * into one): delivered again after the outcome's `delay`.
   */
  | 'retryLater';

/**
 * What a connector must do with a fetched transaction once its lifecycle ended:
 * `ack` (done), `deadLetter` (failed for good, never redeliver) or `release` (redeliver).
 */
export type SettleDecision =
  | { readonly type: 'ack' }
  | { readonly type: 'deadLetter'; readonly error: TransactionError }
  | {
      readonly type: 'release';
      readonly reason: ReleaseReason;
      /**
       * Milliseconds to hold the transaction back before it is delivered again (reason
       * `retryLater`); absent or 0: at once. Only connectors whose `scheduling.delayedRelease`
       * is `true` are given a delay.
       */
      readonly delay?: number;
    };
