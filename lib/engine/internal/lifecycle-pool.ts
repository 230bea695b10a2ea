import { context as otelContext, type Span } from '@opentelemetry/api';
import { isObservable, type Observable } from 'rxjs';
import {
  DelayedReleaseUnsupportedError,
  DeliveryLostError,
  TransactionError,
} from '../../core/errors.js';
import type { ConnectorScheduling, Eventually } from '../../core/connector.js';
import type { Logger } from '../../core/logging.js';
import { isInstance } from '../../core/safe-access.js';
import {
  type Outcome,
  type ReleaseReason,
  type SettleDecision,
  settleDecisionFor,
} from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import type { EngineClock } from './engine-clock.js';
import { deliveryLost, SlowTransactionNotice, transactionFailed } from './transaction-log.js';
import type { RunTelemetry } from './instrumentation/run-telemetry.js';
import { Lifecycle, type LifecycleHost, type LifecyclePlan } from './lifecycle.js';
import { enterPromiseReaction, leavePromiseReaction } from './stage-run.js';

/** Where a pool settles transactions (a connector, usually). */
export interface Settler<P> {
  readonly system?: string;
  readonly destination?: string;
  readonly scheduling?: ConnectorScheduling;
  settle?(transaction: Transaction<P>, decision: SettleDecision): Eventually<void>;
}

/**
 * Settles through `settler`: what `context.with` calls with no `this` (given one, the context
 * manager binds the function to it on every call, once per transaction).
 */
function settleIn<P>(
  settler: Settler<P>,
  transaction: Transaction<P>,
  decision: SettleDecision,
): Eventually<void> {
  return settler.settle?.(transaction, decision);
}

/** Who hears about settled transactions. */
export interface PoolListener<P, R, A = undefined> {
  /**
   * A transaction's lifecycle and settlement are over: its one outcome (`lifecycle` is
   * `null` for a transaction released before it started).
   */
  outcome(outcome: Outcome<P, R>, lifecycle: Lifecycle<P, R, A> | null): void;
  /** A slot just became free (called right after `outcome`). */
  freed(): void;
}

/**
 * The transactions one run has in flight. A slot is taken when a lifecycle starts and given
 * back only after its settlement finished, then the outcome is delivered; `cancelAll`
 * releases whatever is unfinished.
 */
export class LifecyclePool<P, R, A = undefined> implements LifecycleHost<P, R, A> {
  /** Started and not yet settled (includes transactions being released). */
  inFlight = 0;
  private first: Lifecycle<P, R, A> | null = null;
  /** Logs transactions that run long, when the plan asks for it. */
  private readonly notice: SlowTransactionNotice<P, R, A> | null;

  constructor(
    readonly plan: LifecyclePlan<P, R, A>,
    readonly clock: EngineClock,
    readonly telemetry: RunTelemetry,
    private readonly settler: Settler<P> | null,
    private readonly listener: PoolListener<P, R, A>,
  ) {
    telemetry.metrics?.observeInFlight(() => this.inFlight);
    const { prepare, process, success, exception } = plan.stages;
    clock.prepare([
      plan.budget,
      plan.slowNotice?.after ?? null,
      ...[prepare, process, success, exception].map((stage) => stage?.retry.timeout ?? null),
    ]);
    this.notice =
      plan.slowNotice === null ? null : new SlowTransactionNotice<P, R, A>(plan.slowNotice, clock);
  }

  /**
   * Starts a transaction's lifecycle; its span goes under `batch` when given, and
   * `attachment` is the run's own state for it (set before the lifecycle starts). With a
   * `failure`, the lifecycle goes straight to its exception stage.
   */
  start(
    transaction: Transaction<P>,
    batch: Span | null,
    attachment: A,
    failure: TransactionError | null = null,
  ): Lifecycle<P, R, A> {
    this.inFlight++;
    // It takes a rate permit, and is the circuit breaker's probe when it is half-open.
    this.plan.downstream?.started();
    const lifecycle = new Lifecycle(this, transaction, batch, attachment);
    lifecycle.next = this.first;
    if (this.first !== null) this.first.previous = lifecycle;
    this.first = lifecycle;
    if (this.notice !== null) lifecycle.notice = this.notice.watch(lifecycle);
    lifecycle.start(failure);
    return lifecycle;
  }

  /** Settles a transaction that never started as released. */
  release(transaction: Transaction<P>, reason: ReleaseReason): void {
    this.inFlight++;
    const outcome: Outcome<P, R> = { status: 'released', transaction, reason };
    this.telemetry.countUnstarted(outcome);
    this.settle(outcome, null);
  }

  /** Cancels every unfinished lifecycle; each ends `released` with this reason. */
  cancelAll(reason: ReleaseReason): void {
    let lifecycle = this.first;
    while (lifecycle !== null) {
      const next = lifecycle.next;
      lifecycle.cancel(reason);
      lifecycle = next;
    }
  }

  ended(lifecycle: Lifecycle<P, R, A>, ended: Outcome<P, R>): void {
    const outcome = this.delayable(ended);
    if (lifecycle.previous !== null) lifecycle.previous.next = lifecycle.next;
    else this.first = lifecycle.next;
    if (lifecycle.next !== null) lifecycle.next.previous = lifecycle.previous;
    lifecycle.previous = lifecycle.next = null;
    lifecycle.notice?.cancel();
    lifecycle.notice = null;
    if (outcome.status === 'failed' || (outcome.status === 'timeout' && !outcome.handled)) {
      this.logFailed(lifecycle, outcome.handlerError ?? outcome.error);
    }
    this.settle(outcome, lifecycle);
  }

  /**
   * A retry-later for a connector that cannot delay a release becomes a failure naming it
   * (dead-lettered), never an immediate redelivery that would spin.
   */
  private delayable(outcome: Outcome<P, R>): Outcome<P, R> {
    const settler = this.settler;
    if (
      outcome.status !== 'released' ||
      outcome.reason !== 'retryLater' ||
      settler?.settle === undefined ||
      settler.scheduling?.delayedRelease === true
    ) {
      return outcome;
    }
    const id = outcome.transaction.id;
    const cause = new DelayedReleaseUnsupportedError(
      `${connectorName(settler)} cannot hold a transaction back for a delay (its scheduling.delayedRelease is not true), so transaction ${id} was dead-lettered instead of retried in ${String(outcome.delay)} ms; use a connector that can (docs/scheduling.md), or retry in memory with process.retry`,
      { cause: outcome.retryLater },
    );
    const error = new TransactionError(cause.message, {
      category: 'system',
      transactionId: id,
      stage: 'process',
      cause,
      nonRetryable: true,
    });
    return { status: 'failed', transaction: outcome.transaction, error };
  }

  /** One `error` line for a transaction that failed for good, in its context (trace ids). */
  private logFailed(lifecycle: Lifecycle<P, R, A>, error: unknown): void {
    const deadLettered = this.settler?.settle !== undefined;
    const write = (): void =>
      transactionFailed(this.plan.scope.logger, lifecycle.transaction.id, deadLettered, error);
    const context = lifecycle.context;
    if (context === null) write();
    else otelContext.with(context, write);
  }

  private settle(outcome: Outcome<P, R>, lifecycle: Lifecycle<P, R, A> | null): void {
    const settler = this.settler;
    if (settler === null || settler.settle === undefined) {
      this.deliver(outcome, lifecycle);
      return;
    }
    let pending: Eventually<void>;
    try {
      // In the transaction's context (telemetry on): what the connector does to settle it
      // belongs to its trace, and a connector that keeps no trace context of its own (the
      // file connector) records the failed transaction's in its dead letter.
      const context = lifecycle?.context ?? null;
      const decision = settleDecisionFor(outcome);
      pending =
        context === null
          ? settler.settle(outcome.transaction, decision)
          : otelContext.with(context, settleIn, undefined, settler, outcome.transaction, decision);
    } catch (error) {
      this.deliver(settleFailed(outcome, error, this.plan.scope.logger), lifecycle);
      return;
    }
    if (pending === undefined || pending === null || typeof pending !== 'object') {
      this.deliver(outcome, lifecycle);
    } else {
      new PendingSettlement(this, outcome, lifecycle).await(pending);
    }
  }

  /** Delivers a settlement's end; `inReaction` when it arrived in a Promise's callback. */
  settled(
    outcome: Outcome<P, R>,
    lifecycle: Lifecycle<P, R, A> | null,
    error: { readonly error: unknown } | null,
    inReaction: boolean,
  ): void {
    const delivered =
      error === null ? outcome : settleFailed(outcome, error.error, this.plan.scope.logger);
    if (!inReaction) {
      this.deliver(delivered, lifecycle);
      return;
    }
    enterPromiseReaction();
    try {
      this.deliver(delivered, lifecycle);
    } finally {
      leavePromiseReaction();
    }
  }

  private deliver(outcome: Outcome<P, R>, lifecycle: Lifecycle<P, R, A> | null): void {
    this.inFlight--;
    this.listener.outcome(outcome, lifecycle);
    this.listener.freed();
  }
}

/**
 * A settlement that returned a Promise, a thenable or an Observable. Its end counts once,
 * whatever the connector does: a thenable that calls back twice (or both ways), a `then` or
 * `subscribe` that throws after calling back, a revoked Proxy. Anything else is done at once.
 */
class PendingSettlement<P, R, A> {
  private done = false;

  constructor(
    private readonly pool: LifecyclePool<P, R, A>,
    private readonly outcome: Outcome<P, R>,
    private readonly lifecycle: Lifecycle<P, R, A> | null,
  ) {}

  await(pending: object): void {
    let observable: boolean;
    let then: unknown;
    try {
      observable = isObservable(pending);
      then = observable ? undefined : (pending as PromiseLike<void>).then;
    } catch (error) {
      this.end({ error }, false);
      return;
    }
    try {
      if (observable) {
        (pending as Observable<void>).subscribe({
          error: (error: unknown) => this.end({ error }, false),
          complete: () => this.end(null, false),
        });
      } else if (typeof then === 'function') {
        (then as PromiseLike<void>['then']).call(
          pending,
          () => this.end(null, true),
          (error: unknown) => this.end({ error }, true),
        );
      } else {
        this.end(null, false);
      }
    } catch (error) {
      this.end({ error }, false);
    }
  }

  private end(error: { readonly error: unknown } | null, inReaction: boolean): void {
    if (this.done) return;
    this.done = true;
    this.pool.settled(this.outcome, this.lifecycle, error, inReaction);
  }
}

/** A connector in messages: its system and destination, when it has them. */
export function connectorName(connector: {
  readonly system?: string;
  readonly destination?: string;
}): string {
  const parts = [connector.system, connector.destination].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return parts.length === 0 ? 'the connector' : `connector ${parts.join(' ')}`;
}

/**
 * The outcome to report when settling failed: `released` (reason `connectionLost`) when the
 * delivery is gone and will be redelivered (said in one `warn` line on `logger`), otherwise
 * the outcome with its `settleError`.
 */
function settleFailed<P, R>(outcome: Outcome<P, R>, error: unknown, logger: Logger): Outcome<P, R> {
  if (isInstance(error, DeliveryLostError)) {
    deliveryLost(logger, outcome.transaction.id, error);
    return {
      status: 'released',
      transaction: outcome.transaction,
      reason: 'connectionLost',
      settleError: error,
    };
  }
  return { ...outcome, settleError: error };
}
