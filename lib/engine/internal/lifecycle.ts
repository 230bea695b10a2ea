import type { Context, Span } from '@opentelemetry/api';
import type { DeadLetterError } from '../../core/errors.js';
import { CancellationError, RetryLaterError, TransactionError } from '../../core/errors.js';
import { isInstance } from '../../core/safe-access.js';
import { decodeFailureOf, type Transaction } from '../../core/transaction.js';
import { describeError } from '../../core/renderers.js';
import type { Eventually } from '../../core/connector.js';
import type { Logger } from '../../core/logging.js';
import type { Outcome, ReleaseReason } from '../../core/outcome.js';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { Deadline, DeadlineTarget, EngineClock } from './engine-clock.js';
import type { AttemptContext, HandlerScope } from '../handler-context.js';
import type { SlowNoticeSetting } from './transaction-log.js';
import type { RunTelemetry, TransactionTrace } from './instrumentation/run-telemetry.js';
import { stageObserver } from './instrumentation/stage-telemetry.js';
import { firstAttemptOf, isHandBack, StageRun, type StageOwner } from './stage-run.js';
import type { BatchMember, ProcessBatcher } from './process-batcher.js';
import type { Downstream } from './flow-gates.js';

/** The stage that does a task's main work: `process` for consumers, `prepare` for producers. */
type MainStage = 'process' | 'prepare';

/** A stage that runs a handler. */
export type HandlerStage = MainStage | 'success' | 'exception';

/** One handler stage of a plan: its handler and the retry policy it runs under. */
export interface StagePlan<P> {
  readonly retry: RetryPolicy;
  /** Calls the handler; `input` is the result (success) or the error (exception). */
  readonly handler: (
    transaction: Transaction<P>,
    input: unknown,
    context: AttemptContext,
  ) => Eventually<unknown>;
}

/** How a kind of task runs one transaction: its handlers, stages and policies. */
export interface LifecyclePlan<P, R, A = undefined> {
  readonly scope: HandlerScope<unknown>;
  readonly mainStage: MainStage;
  /** `transactionRuntime.timeout`: budget over everything before the exception stage. */
  readonly budget: number | null;
  /** When a transaction still running is logged; `null` for never. */
  readonly slowNotice: SlowNoticeSetting | null;
  /** The handler and retry policy of each stage the task has (always its main stage). */
  readonly stages: { readonly [S in HandlerStage]?: StagePlan<P> | undefined };
  /**
   * When present, takes the main stage's value (a producer dispatches it); the lifecycle then
   * waits for {@link Lifecycle.dispatched} or {@link Lifecycle.dispatchFailed}.
   */
  dispatch?(lifecycle: Lifecycle<P, R, A>, value: unknown): void;
  /** Runs the process stage in batches (a task with `processBatch`) instead of alone. */
  readonly batcher?: ProcessBatcher<P>;
  /** The run's pause for a rate-limiting downstream, applied to the process stage. */
  readonly downstream?: Downstream;
  /**
   * The lifecycle gives up before its dispatch completed (its main stage failed, or it timed
   * out or was cancelled): take back what was handed over, if anything. Returns `false` when
   * that is no longer possible (the batch is being sent); a timeout then waits for the
   * dispatch's own result instead of reporting a transaction that may have been delivered.
   * Called at most once per lifecycle.
   */
  abandon?(lifecycle: Lifecycle<P, R, A>): boolean;
}

/** The run a lifecycle belongs to. */
export interface LifecycleHost<P, R, A = undefined> {
  readonly clock: EngineClock;
  readonly plan: LifecyclePlan<P, R, A>;
  readonly telemetry: RunTelemetry;
  /** Called once with the lifecycle's outcome. */
  ended(lifecycle: Lifecycle<P, R, A>, outcome: Outcome<P, R>): void;
}

/** A stage of the lifecycle: a handler's, or `dispatch` (a producer's prepared transaction being sent). */
type LifecycleStage = HandlerStage | 'dispatch';

/**
 * One transaction's way through the main stage → (dispatch) → onSuccess → (on failure)
 * onException, each handler stage under its own retry policy, with the runtime budget over
 * everything before onException. Whatever happens it ends exactly once: with an outcome, or
 * cancelled with a `released` outcome.
 */
export class Lifecycle<P, R, A = undefined>
  implements StageOwner<unknown>, DeadlineTarget, BatchMember<P>
{
  /** State the run keeps for this transaction (a producer's way to the dispatcher). */
  readonly attachment: A;
  /** When this transaction is logged as still running, if it is watched. */
  notice: Deadline | null = null;
  /** Links of the host's list of unfinished lifecycles. */
  previous: Lifecycle<P, R, A> | null = null;
  next: Lifecycle<P, R, A> | null = null;

  private stage: LifecycleStage;
  private run: StageRun<unknown> | null = null;
  private budget: Deadline | null = null;
  private result: R | undefined = undefined;
  private error: TransactionError | null = null;
  private ended = false;
  /** The main stage or dispatch is over (completed or abandoned): no more `abandon`. */
  private settledDispatch = false;
  /**
   * The budget ran out while the dispatch could not be taken back (its batch was being sent),
   * or while its `processBatch` call ran: reported when that ends.
   */
  private lateDispatch: TransactionError | null = null;
  /** Cancelled while its batch was being sent: that dispatch's own end decides the outcome. */
  private cancelledDispatch: ReleaseReason | null = null;
  /** The dispatch succeeded: the destination has the transaction, it can no longer be released. */
  private dispatchDone = false;
  /** The transaction's span and context, when telemetry is on. */
  private readonly trace: TransactionTrace | null;

  constructor(
    private readonly host: LifecycleHost<P, R, A>,
    readonly transaction: Transaction<P>,
    batch: Span | null,
    attachment: A,
  ) {
    this.attachment = attachment;
    this.stage = host.plan.mainStage;
    this.trace = host.telemetry.startTransaction(transaction, batch);
  }

  /** The transaction's context (span, id), when telemetry is on. */
  get context(): Context | null {
    return this.trace;
  }

  /** The stage running now (`dispatch`: a producer's dispatch). */
  get currentStage(): string {
    return this.stage;
  }

  /** The current stage's attempt number (0 between stages). */
  get currentAttempt(): number {
    return this.run?.attempts ?? 0;
  }

  /** The task's logger. */
  get logger(): Logger {
    return this.host.plan.scope.logger;
  }

  /**
   * Starts the main stage; with a `failure` (the run could not prepare the transaction, say
   * its key function threw), or when its payload could not be decoded, goes straight to the
   * exception stage instead.
   */
  start(failure: TransactionError | null): void {
    const fault = failure ?? this.decodeFailure();
    if (fault !== null) {
      this.fail(fault);
      return;
    }
    if (this.host.plan.budget !== null)
      this.budget = this.host.clock.deadline(this.host.plan.budget, this);
    this.enter(this.host.plan.mainStage);
  }

  private decodeFailure(): TransactionError | null {
    const decodeError = decodeFailureOf(this.transaction);
    if (decodeError === undefined) return null;
    return new TransactionError(
      `payload of transaction ${this.transaction.id} could not be decoded: ${describeError(decodeError)}`,
      {
        category: 'business',
        transactionId: this.transaction.id,
        stage: 'decode',
        cause: decodeError,
        nonRetryable: true,
      },
    );
  }

  /**
   * Cancels whatever runs and ends with a `released` outcome (no-op once ended). A
   * transaction the destination has, or may have (its batch is being sent), is never
   * released: a batch being sent decides with its own end (see `dispatched`), and one
   * already dispatched ends `timeout` (onSuccess or onException did not finish).
   */
  cancel(reason: ReleaseReason): void {
    if (this.ended || this.cancelledDispatch !== null) return;
    if (this.stage === 'dispatch' && (this.lateDispatch !== null || !this.abandon())) {
      this.cancelledDispatch = reason;
      this.budget?.cancel();
      this.budget = null;
      return;
    }
    this.abandon();
    this.run?.cancel(new CancellationError(reason));
    if (this.dispatchDone) this.end(this.cancelledAfterDispatch(reason));
    else this.end({ status: 'released', transaction: this.transaction, reason });
  }

  /** The dispatch succeeded; `result` becomes the outcome's result. */
  dispatched(result: R): void {
    if (this.ended || this.stage !== 'dispatch') return;
    this.settledDispatch = true;
    this.dispatchDone = true;
    this.result = result;
    if (this.cancelledDispatch !== null) {
      if (this.host.plan.stages.success !== undefined || this.lateDispatch !== null) {
        this.end(this.cancelledAfterDispatch(this.cancelledDispatch));
      } else {
        this.succeed();
      }
    } else if (this.lateDispatch !== null) this.fail(this.lateDispatch);
    else this.afterMainStage();
  }

  /** The dispatch failed (for a producer: the dispatch of this transaction failed). */
  dispatchFailed(error: unknown): void {
    if (this.ended || this.stage !== 'dispatch') return;
    this.settledDispatch = true;
    const reason = this.cancelledDispatch;
    if (reason !== null && error instanceof CancellationError) {
      // The dispatch was aborted before the destination took it.
      this.end({ status: 'released', transaction: this.transaction, reason });
      return;
    }
    const wrapped = TransactionError.wrap(error, {
      transactionId: this.transaction.id,
      stage: 'dispatch',
    });
    if (reason !== null)
      this.end({ status: 'failed', transaction: this.transaction, error: wrapped });
    else this.fail(wrapped);
  }

  /** The outcome of a transaction the destination has, cancelled before its lifecycle ended. */
  private cancelledAfterDispatch(reason: ReleaseReason): Outcome<P, R> {
    const stage = this.stage === 'dispatch' ? 'success' : this.stage;
    const error = new TransactionError(
      `transaction ${this.transaction.id} was dispatched, but the run was cancelled (${reason}) before its ${stage} stage finished`,
      {
        category: 'timeout',
        transactionId: this.transaction.id,
        stage,
        ...(this.error === null ? {} : { cause: this.error }),
      },
    );
    return { status: 'timeout', transaction: this.transaction, error, handled: false };
  }

  invoke(context: AttemptContext): Eventually<unknown> {
    const stage = this.stage as HandlerStage;
    const input =
      stage === 'success' ? this.result : stage === 'exception' ? this.error : undefined;
    return (this.host.plan.stages[stage] as StagePlan<P>).handler(this.transaction, input, context);
  }

  succeeded(run: StageRun<unknown>, value: unknown): void {
    if (run !== this.run) return;
    switch (this.stage) {
      case 'process':
      case 'prepare':
        this.mainStageSucceeded(value);
        return;
      case 'success':
        this.succeed();
        return;
      case 'exception': {
        if (isHandBack(value)) {
          this.handBack(value);
          return;
        }
        const error = this.error as TransactionError;
        this.end(
          error.category === 'timeout'
            ? { status: 'timeout', transaction: this.transaction, error, handled: true }
            : { status: 'exception', transaction: this.transaction, error, handled: value },
        );
        return;
      }
      case 'dispatch':
        return;
    }
  }

  failed(run: StageRun<unknown>, error: unknown): void {
    if (run !== this.run) return;
    if (isHandBack(error)) {
      this.handBack(error);
      return;
    }
    const wrapped = TransactionError.wrap(error, {
      transactionId: this.transaction.id,
      stage: this.stage as HandlerStage,
    });
    if (this.stage !== 'exception') {
      this.fail(wrapped);
      return;
    }
    const cause = this.error as TransactionError;
    this.end(
      cause.category === 'timeout'
        ? {
            status: 'timeout',
            transaction: this.transaction,
            error: cause,
            handled: false,
            handlerError: wrapped,
          }
        : { status: 'failed', transaction: this.transaction, error: cause, handlerError: wrapped },
    );
  }

  batchSucceeded(value: unknown): void {
    if (this.ended || this.stage !== 'process') return;
    if (this.lateDispatch !== null) this.fail(this.lateDispatch);
    else this.mainStageSucceeded(value);
  }

  batchFailed(error: unknown): void {
    if (this.ended || this.stage !== 'process') return;
    this.settledDispatch = true;
    if (this.lateDispatch === null && isHandBack(error)) {
      this.handBack(error);
      return;
    }
    this.fail(
      this.lateDispatch ??
        TransactionError.wrap(error, { transactionId: this.transaction.id, stage: 'process' }),
    );
  }

  /**
   * The handler chose the settlement: a {@link RetryLaterError} releases the transaction for
   * redelivery after its delay, a {@link DeadLetterError} dead-letters it now (onException
   * does not run; thrown by onException, the original failure stays the outcome's error).
   */
  private handBack(choice: RetryLaterError | DeadLetterError): void {
    this.budget?.cancel();
    this.budget = null;
    this.abandon();
    if (isInstance(choice, RetryLaterError)) {
      const retryLater = choice as RetryLaterError;
      this.end({
        status: 'released',
        transaction: this.transaction,
        reason: 'retryLater',
        delay: retryLater.delay,
        retryLater,
      });
      return;
    }
    const stage = this.stage === 'dispatch' ? 'success' : this.stage;
    const deadLetter = new TransactionError(
      `${stage} of transaction ${this.transaction.id} dead-lettered it: ${(choice as DeadLetterError).reason}`,
      {
        category: 'business',
        transactionId: this.transaction.id,
        stage,
        cause: choice,
        nonRetryable: true,
      },
    );
    if (stage === 'exception' && this.error !== null) {
      this.end({
        status: 'failed',
        transaction: this.transaction,
        error: this.error,
        handlerError: deadLetter,
      });
    } else {
      this.end({ status: 'failed', transaction: this.transaction, error: deadLetter });
    }
  }

  private mainStageSucceeded(value: unknown): void {
    if (this.host.plan.dispatch !== undefined) {
      this.stage = 'dispatch';
      this.run = null;
      this.host.plan.dispatch(this, value);
    } else {
      this.settledDispatch = true;
      this.result = value as R;
      this.afterMainStage();
    }
  }

  /** The runtime budget ran out before the exception stage. */
  expire(): void {
    this.budget = null;
    if (this.ended || this.stage === 'exception' || this.cancelledDispatch !== null) return;
    const error = new TransactionError(
      `transaction ${this.transaction.id} exceeded its runtime budget of ${String(this.host.plan.budget)} ms in stage ${this.stage}`,
      {
        category: 'timeout',
        transactionId: this.transaction.id,
        stage: this.stage,
      },
    );
    if (this.stage === 'dispatch' && !this.abandon()) {
      // Its batch is being sent: wait for the dispatch, then report the timeout (onSuccess
      // does not run; the transaction may well have been delivered).
      this.lateDispatch = new TransactionError(
        `${error.message} while its batch was being dispatched (it may have been delivered)`,
        { category: 'timeout', transactionId: this.transaction.id, stage: 'dispatch' },
      );
      return;
    }
    if (this.stage === 'process' && this.host.plan.batcher !== undefined && !this.abandon()) {
      // Its batch is being processed with others: the transaction keeps its slot (and its
      // key) until that call ends, then reports the timeout.
      this.lateDispatch = new TransactionError(
        `${error.message} while its batch was being processed`,
        {
          category: 'timeout',
          transactionId: this.transaction.id,
          stage: 'process',
        },
      );
      return;
    }
    this.run?.cancel(error);
    this.fail(error);
  }

  /** Tells the plan the main stage or dispatch is given up (once); see `LifecyclePlan.abandon`. */
  private abandon(): boolean {
    if (this.settledDispatch) return true;
    this.settledDispatch = true;
    return this.host.plan.abandon?.(this) ?? true;
  }

  private afterMainStage(): void {
    if (this.host.plan.stages.success !== undefined) this.enter('success');
    else this.succeed();
  }

  private enter(stage: HandlerStage): void {
    this.stage = stage;
    const batcher = this.host.plan.batcher;
    if (stage === 'process' && batcher !== undefined) {
      this.run = null;
      batcher.join(this);
      return;
    }
    const run = new StageRun<unknown>(
      this.host.clock,
      (this.host.plan.stages[stage] as StagePlan<P>).retry,
      stage,
      this.host.plan.scope,
      this,
      this.trace === null ? null : stageObserver(this.host.telemetry, this.trace, stage),
      stage === 'process' ? (this.host.plan.downstream ?? null) : null,
    );
    this.run = run;
    run.start(stage === 'process' ? this.firstProcessAttempt() : 1);
  }

  private firstProcessAttempt(): number {
    const retry = this.host.plan.stages.process?.retry;
    return retry === undefined ? 1 : firstAttemptOf(retry, this.transaction);
  }

  private succeed(): void {
    this.end({ status: 'success', transaction: this.transaction, result: this.result as R });
  }

  /** Routes a failure to onException, outside the runtime budget. */
  private fail(error: TransactionError): void {
    this.budget?.cancel();
    this.budget = null;
    this.abandon();
    this.error = error;
    if (this.host.plan.stages.exception === undefined) {
      this.end(
        error.category === 'timeout'
          ? { status: 'timeout', transaction: this.transaction, error, handled: false }
          : { status: 'failed', transaction: this.transaction, error },
      );
      return;
    }
    this.enter('exception');
  }

  private end(outcome: Outcome<P, R>): void {
    if (this.ended) return;
    this.ended = true;
    this.run = null;
    this.budget?.cancel();
    this.budget = null;
    this.host.telemetry.endTransaction(this.trace, outcome);
    this.host.ended(this, outcome);
  }
}
