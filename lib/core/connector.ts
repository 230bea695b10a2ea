import { isObservable, lastValueFrom, type Observable, type ObservableInput } from 'rxjs';
import type { SettleDecision } from './outcome.js';
import type { Transaction } from './transaction.js';
import type { DeadLetters } from './dead-letters.js';

/** One fetch: how many transactions the loop can take now, plus the policy's `fetch.extra`. */
export interface FetchRequest {
  /** Most transactions this fetch may return (≥ 1). */
  readonly size: number;
  /** `fetch.extra` from the policy, passed through untouched. */
  readonly extra: Readonly<Record<string, unknown>>;
  /**
   * The consuming policy's `transactionRuntime.timeout` (`null`: none), when the engine
   * fetches: a connector whose broker takes a delivery back after a fixed time (RabbitMQ's
   * `consumer_timeout`) warns when transactions may outlive it.
   */
  readonly transactionTimeout?: number | null;
}

/** What the engine passes to every `dispatch` attempt besides the batch. */
export interface DispatchContext {
  /**
   * Aborts when the attempt times out (`dispatch.retry.timeout`) or the run stops (loop
   * timeout, unsubscribe). Stop what can still be stopped (messages not written yet), then
   * settle promptly with what the destination really took.
   */
  readonly signal: AbortSignal;
}

/**
 * What a dispatch reports when it resolves: the transactions that failed (a partial
 * failure). Resolving with nothing, or with an empty `failed`, means every transaction was
 * taken (confirmed by the destination, for brokers with confirms). `failed` must be an array
 * of `{ transaction, error }` naming transactions of the batch (the same objects, or copies
 * with the same id); anything else fails the batch with a `ConnectorContractError`.
 */
export interface DispatchReport<P = unknown> {
  readonly failed: readonly DispatchFailure<P>[];
}

/** What a connector can schedule; see docs/scheduling.md for the table per connector. */
export interface ConnectorScheduling {
  /**
   * `settle` honours a `release` decision's `delay` durably: the transaction is delivered
   * again after the delay, not before, holds no consumer slot meanwhile, and survives a
   * restart of the consumer.
   */
  readonly delayedRelease: boolean;
  /** `dispatch` holds a transaction back until its `metadata.notBefore`. */
  readonly notBefore: boolean;
  /** `dispatch` delivers higher `metadata.priority` (0–9) first. */
  readonly priority: boolean;
}

/** What `health()` reports, for supervision and readiness probes. */
export interface ConnectorHealth {
  readonly healthy: boolean;
  /** A short state name such as `connected`, `reconnecting`, `closed`. */
  readonly state: string;
  readonly detail?: string;
}

/**
 * The transport boundary: where transactions come from and where their settlement goes.
 *
 * `fetch` returns a **cold** Observable: each subscription performs one fetch of at most
 * `request.size` transactions and completes (completing empty means "nothing available
 * now"). The engine retries a failed fetch by subscribing again, so wrap driver calls in
 * `defer`. Everything else is optional.
 */
export interface Connector<P = unknown> {
  /** `messaging.system` in telemetry, e.g. `rabbitmq`, `postgresql`, `memory`. */
  readonly system?: string;
  /** `messaging.destination.name` in telemetry: the queue, stream, table or file. */
  readonly destination?: string;
  /**
   * What the connector can schedule (absent: nothing). The engine gives `settle` a release
   * with a `delay` only when `delayedRelease` is `true` (otherwise a retry-later is
   * dead-lettered with a `DelayedReleaseUnsupportedError`, and `durableAfter` is refused at
   * start). A connector's `dispatch` that cannot honour a transaction's `metadata.notBefore`
   * fails that transaction with a `ScheduleError` instead of delivering it early;
   * `metadata.priority` is a hint, ignored where `priority` is not `true`.
   */
  readonly scheduling?: ConnectorScheduling;
  fetch(request: FetchRequest): Observable<Transaction<P>>;
  /**
   * Called exactly once per fetched transaction, after its lifecycle ended (or it was
   * cancelled). The loop waits for it before it frees the transaction's slot.
   */
  settle?(transaction: Transaction<P>, decision: SettleDecision): Eventually<void>;
  /**
   * Sends a batch to the destination and resolves once the destination has it (after
   * publisher confirms, a committed insert, …). Rejecting means the whole batch failed (the
   * engine retries it per policy); resolving with a {@link DispatchReport} names the
   * transactions that failed on their own. Connectors put the W3C trace context in what they
   * send (see `traceHeaders`).
   *
   * `context.signal` aborts when the attempt timed out or the run stopped. The engine then
   * waits for the returned Promise before it retries (or ends) — the dispatch slot stays
   * taken — and a late resolve counts as the attempt's success, so: give up what was not
   * sent yet, never resolve for transactions the destination did not take, and reject
   * (with `signal.reason` when nothing was sent) rather than hang. Retrying a batch that was
   * partly written must not duplicate it (idempotent ids, or report what is unknown). An
   * Observable result is cancelled by unsubscribing instead. The engine always passes a
   * context; callers outside it may omit it.
   */
  dispatch?(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Eventually<DispatchReport<P> | void>;
  /** Looks one transaction up by id; resolves `undefined` when there is none. */
  fetchById?(id: string): ObservableInput<Transaction<P> | undefined>;
  /** How many transactions wait in the source (when the source can tell). */
  count?(): ObservableInput<number>;
  health?(): ObservableInput<ConnectorHealth>;
  /**
   * The connector's dead letters, to list, show, redrive and purge (the `ergon dlq`
   * commands use it). Absent when the connector keeps none it can read back.
   */
  deadLetters?(): DeadLetters<P>;
  /** Releases everything the connector holds; prompt, idempotent. */
  close?(): Eventually<void>;
}

/**
 * Owns a protocol (connection, reconnects, topology) and is shared by connectors and tasks.
 * The only contract is an optional `close`.
 */
export interface Service {
  close?(): Eventually<void>;
}

/** A transaction of a dispatched batch that did not reach the destination, and why. */
export interface DispatchFailure<P = unknown> {
  readonly transaction: Transaction<P>;
  readonly error: unknown;
}

/** What happened to one batch sent to a connector. */
export interface DispatchReceipt<P = unknown> {
  /** The batch, in the order it was sent. */
  readonly transactions: readonly Transaction<P>[];
  /** The transactions that failed: all of them when the whole batch failed. */
  readonly failed: readonly DispatchFailure<P>[];
  /** Why the whole batch failed after every attempt, when it did. */
  readonly error?: unknown;
  /** How many times `connector.dispatch` was called for this batch. */
  readonly attempts: number;
}

/**
 * What a handler or connector method may return: a value, a Promise of it, or an Observable
 * whose last value it is (an Observable that completes empty means `undefined`).
 */
export type Eventually<T> = T | PromiseLike<T> | Observable<T>;

/**
 * Waits for an {@link Eventually}: a value, a Promise, or the last value of an Observable
 * (`undefined` when it completes empty).
 */
export async function awaitEventually<T>(value: Eventually<T>): Promise<T | undefined> {
  if (isObservable(value)) return lastValueFrom(value, { defaultValue: undefined });
  return value;
}
