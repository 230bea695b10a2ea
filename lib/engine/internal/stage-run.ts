import { context as otelContext, type Context } from '@opentelemetry/api';
import { isObservable, timer, type Observable, type Subscription } from 'rxjs';
import {
  AttemptTimeoutError,
  CancellationError,
  DeadLetterError,
  NonRetryableError,
  RetryLaterError,
  type Stage,
  TransactionError,
} from '../../core/errors.js';
import type { Eventually } from '../../core/connector.js';
import { isInstance, readProperty } from '../../core/safe-access.js';
import { backoffDelay } from '../../policy/backoff.js';
import type { ProcessRetryPolicy, RetryPolicy } from '../../policy/retry-policy.js';
import { describeError } from '../../core/renderers.js';
import { deliveryCountOf } from '../../core/delivery-schedule.js';
import type { Transaction } from '../../core/transaction.js';
import type { Deadline, DeadlineTarget, EngineClock } from './engine-clock.js';
import { attemptLabel, attemptWillRetry, stageGaveUp } from './transaction-log.js';
import { AttemptContext, type HandlerScope } from '../handler-context.js';
import type { StageObserver } from './instrumentation/stage-telemetry.js';
import { type Downstream, rateLimitedDelay } from './flow-gates.js';

/** Who a {@link StageRun} works for: it calls the handler and hears how the stage ended. */
export interface StageOwner<T> {
  invoke(context: AttemptContext): Eventually<T>;
  /** Every value an Observable result emits, stale attempts included (fetches need them all). */
  received?(run: StageRun<T>, value: T): void;
  succeeded(run: StageRun<T>, value: T | undefined): void;
  failed(run: StageRun<T>, error: unknown): void;
  /**
   * When `true`, an attempt that returned a Promise is over only once that Promise settled
   * (a dispatch: what the destination took is known only then). Its timeout or a `cancel`
   * aborts its signal, then waits: a late resolve is the stage's success, a rejection is the
   * attempt's failure (retried after the backoff as usual, never beside it). The owner hears
   * the end even after `cancel`: `failed` with the cancel reason when nothing was running.
   */
  readonly awaitsAbortedAttempts?: boolean;
}

/**
 * Runs one stage under its retry policy: attempts up to `maxAttempts`, each under its own
 * `timeout` (expiry aborts the attempt's signal and unsubscribes an Observable result),
 * backoff between attempts (never after the last) on a `timer`, and an immediate stop on
 * {@link NonRetryableError}. Calls its owner exactly once with the stage's end, unless
 * cancelled first (for owners that await aborted attempts: exactly once, cancelled or not).
 */
export class StageRun<T> implements DeadlineTarget {
  attempts = 0;
  private context: AttemptContext | null = null;
  private subscription: Subscription | null = null;
  private deadline: Deadline | null = null;
  private last: T | undefined = undefined;
  /** The OpenTelemetry context of the current attempt, when telemetry is on. */
  private attemptContext: Context | null = null;
  private over = false;
  /** The attempt whose Promise has not settled yet (owners that await aborted attempts). */
  private pending: AttemptContext | null = null;
  /** Cancelled while waiting for `pending`: its settlement ends the stage, no retry. */
  private cancelled = false;
  private cancelReason: Error | null = null;
  /** When the current attempt started (only when the downstream measures latency). */
  private attemptStart = 0;

  constructor(
    private readonly clock: EngineClock,
    private readonly retry: RetryPolicy,
    private readonly stage: Stage,
    private readonly scope: HandlerScope<unknown>,
    private readonly owner: StageOwner<T>,
    /** Telemetry of the attempts; `null` (no work at all) when telemetry is off. */
    private readonly observer: StageObserver | null = null,
    /**
     * The run's pause for a rate-limiting downstream: an attempt refused that way waits for
     * the pause and is tried again without counting; `null` where that does not apply.
     */
    private readonly downstream: Downstream | null = null,
  ) {}

  /**
   * Runs the first attempt, numbered `firstAttempt` (a transaction delivered again after a
   * durable retry goes on counting where the earlier delivery stopped).
   */
  start(firstAttempt = 1): void {
    this.attempts = firstAttempt - 1;
    this.attemptOnce();
  }

  /**
   * Stops the stage: aborts the current attempt (its signal's reason is `reason`) or backoff;
   * the owner hears nothing more.
   */
  cancel(reason: Error): void {
    if (this.over) return;
    this.over = true;
    const context = this.context;
    if (this.owner.awaitsAbortedAttempts === true) {
      if (context !== null && this.pending === context) {
        // The owner hears how the aborted attempt really ended.
        this.cancelled = true;
        this.cancelReason = reason;
        this.deadline?.cancel();
        this.deadline = null;
        context.abort(reason);
        if (reason instanceof CancellationError) this.observer?.attemptCancelled(reason);
        else this.observer?.attemptEnded(reason);
        return;
      }
      this.endAttempt();
      context?.abort(reason);
      this.observer?.stageEnded(false);
      this.owner.failed(this, reason);
      return;
    }
    this.endAttempt();
    context?.abort(reason);
    if (this.observer !== null) {
      if (context !== null) {
        if (reason instanceof CancellationError) this.observer.attemptCancelled(reason);
        else this.observer.attemptEnded(reason);
      }
      this.observer.stageEnded(false);
    }
  }

  expire(): void {
    const context = this.context;
    if (context === null || this.retry.timeout === null) return;
    this.deadline = null;
    const error = new AttemptTimeoutError(
      this.retry.timeout,
      attemptLabel(this.stage, context.attempt),
    );
    const subscription = this.subscription;
    this.subscription = null;
    context.abort(error);
    subscription?.unsubscribe();
    if (this.pending === context) {
      this.scope.logger.warn(
        `${error.message}; its signal was aborted, waiting for it to end before going on`,
      );
      return;
    }
    this.attemptFailed(context, error);
  }

  private attemptOnce(): void {
    this.subscription = null;
    if (this.over) return;
    const context = new AttemptContext(++this.attempts, this.stage, this.scope);
    this.context = context;
    if (this.downstream?.measures === true) this.attemptStart = this.clock.scheduler.now();
    if (this.retry.timeout !== null) this.deadline = this.clock.deadline(this.retry.timeout, this);
    if (this.observer === null) {
      this.invoke(context);
    } else {
      this.attemptContext = this.observer.attemptStarted(context.attempt);
      // Through a static function: `with` would bind a method to its `this` on every call.
      otelContext.with(this.attemptContext, StageRun.invokeIn, undefined, this, context);
    }
  }

  private static invokeIn(this: void, run: StageRun<unknown>, context: AttemptContext): void {
    run.invoke(context);
  }

  /**
   * Calls the handler and subscribes to its result (inside the attempt's context, if any). A
   * result that cannot even be looked at (a revoked Proxy, a `then` getter or method that
   * throws) fails the attempt like a thrown error.
   */
  private invoke(context: AttemptContext): void {
    let result: Eventually<T>;
    let observable: boolean;
    let then: unknown;
    try {
      result = this.owner.invoke(context);
    } catch (error) {
      this.attemptFailed(context, error);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      this.attemptSucceeded(context, result);
      return;
    }
    try {
      observable = isObservable(result);
      then = observable ? undefined : (result as PromiseLike<T>).then;
    } catch (error) {
      this.attemptFailed(context, error);
      return;
    }
    if (observable) {
      this.last = undefined;
      let subscription: Subscription;
      try {
        subscription = (result as Observable<T>).subscribe({
          next: (value) => {
            if (this.context === context) this.last = value;
            this.owner.received?.(this, value);
          },
          error: (error: unknown) => this.attemptFailed(context, error),
          complete: () => this.attemptSucceeded(context, this.last),
        });
      } catch (error) {
        // Only a look-alike of an Observable throws from `subscribe`.
        this.attemptFailed(context, error);
        return;
      }
      if (this.context === context) this.subscription = subscription;
    } else if (typeof then === 'function') {
      if (this.owner.awaitsAbortedAttempts === true) this.pending = context;
      try {
        (then as PromiseLike<T>['then']).call(
          result,
          (value) => {
            if (this.pending === context) this.pending = null;
            enterPromiseReaction();
            try {
              this.attemptSucceeded(context, value);
            } finally {
              leavePromiseReaction();
            }
          },
          (error: unknown) => {
            if (this.pending === context) this.pending = null;
            enterPromiseReaction();
            try {
              this.attemptFailed(context, error);
            } finally {
              leavePromiseReaction();
            }
          },
        );
      } catch (error) {
        // A thenable whose `then` throws (after calling back or not: the first word counts).
        if (this.pending === context) this.pending = null;
        this.attemptFailed(context, error);
      }
    } else {
      this.attemptSucceeded(context, result as T);
    }
  }

  private attemptSucceeded(context: AttemptContext, value: T | undefined): void {
    if (this.context !== context) return;
    this.endAttempt();
    this.over = true;
    this.downstream?.passed(this.latency());
    if (this.observer !== null) {
      if (!this.cancelled) this.observer.attemptEnded(undefined);
      this.observer.stageEnded(true);
    }
    this.owner.succeeded(this, value);
  }

  private attemptFailed(context: AttemptContext, error: unknown): void {
    if (this.context !== context) return;
    this.endAttempt();
    if (this.cancelled) {
      this.observer?.stageEnded(false);
      // Rejected with one of our abort reasons (its timeout came first): it was cancelled.
      const ours = error instanceof AttemptTimeoutError || error instanceof CancellationError;
      this.owner.failed(this, ours ? this.cancelReason : error);
      return;
    }
    if (isHandBack(error)) {
      // The handler chose the settlement (retry later, dead letter): no other attempt, and
      // no failure of the downstream either.
      this.over = true;
      this.downstream?.passed(this.latency());
      this.observer?.attemptEnded(error);
      this.observer?.stageEnded(false);
      this.owner.failed(this, error);
      return;
    }
    const limited = this.downstream === null ? undefined : rateLimitedDelay(error);
    if (limited !== undefined && this.downstream !== null) {
      // Refused, not failed: the same attempt again once the run's pause is over.
      this.attempts--;
      const wait = this.downstream.refused(limited, error, this.latency());
      this.observer?.attemptEnded(error);
      this.subscription = timer(wait, this.clock.scheduler).subscribe(() => this.attemptOnce());
      this.downstream.wakeAtEnd();
      return;
    }
    if (this.downstream?.failed(error, this.latency()) === true) {
      // The circuit breaker is open: this attempt waits for it, uncounted.
      this.attempts--;
      this.observer?.attemptEnded(error);
      this.downstream.hold(() => {
        if (!this.over) this.attemptOnce();
      });
      return;
    }
    const stopped = isNonRetryable(error);
    const final = stopped || this.attempts >= this.retry.maxAttempts;
    const delay = final ? 0 : backoffDelay(this.retry, this.attempts - 1);
    this.logFailure(error, final, stopped, delay);
    this.observer?.attemptEnded(error);
    if (final) {
      this.over = true;
      this.observer?.stageEnded(false);
      this.owner.failed(this, error);
      return;
    }
    const durableAfter = (this.retry as Partial<ProcessRetryPolicy>).durableAfter;
    if (durableAfter !== undefined && durableAfter !== null && delay > durableAfter) {
      // Too long to hold the slot: the connector keeps the transaction for the backoff.
      this.over = true;
      this.observer?.stageEnded(false);
      this.owner.failed(
        this,
        new RetryLaterError(
          delay,
          `${attemptLabel(this.stage, this.attempts)} failed (${describeError(error)}); its backoff of ${delay} ms is longer than durableAfter (${durableAfter} ms)`,
          { cause: error },
        ),
      );
      return;
    }
    if (delay <= 0) {
      this.attemptOnce();
    } else {
      this.subscription = timer(delay, this.clock.scheduler).subscribe(() => this.attemptOnce());
    }
  }

  /**
   * Logs a failed attempt once, inside the attempt's context (trace ids): `warn` without a
   * stack when it will be retried, `debug` when the stage gives up (what follows, onException
   * or a failed transaction, is logged where it is known).
   */
  private logFailure(error: unknown, final: boolean, stopped: boolean, delay: number): void {
    const logger = this.scope.logger;
    const write = final
      ? (): void => stageGaveUp(logger, this.stage, this.attempts, !stopped, error)
      : (): void =>
          attemptWillRetry(logger, this.stage, this.attempts, this.retry.maxAttempts, delay, error);
    const attemptContext = this.attemptContext;
    if (attemptContext === null) write();
    else otelContext.with(attemptContext, write);
  }

  /** How long the attempt that just ended took (0 unless the downstream measures it). */
  private latency(): number {
    return this.downstream?.measures === true ? this.clock.scheduler.now() - this.attemptStart : 0;
  }

  private endAttempt(): void {
    this.context = null;
    this.deadline?.cancel();
    this.deadline = null;
    const subscription = this.subscription;
    this.subscription = null;
    subscription?.unsubscribe();
  }
}

/** A handler's choice of settlement: {@link RetryLaterError} or {@link DeadLetterError}. */
export function isHandBack(error: unknown): error is RetryLaterError | DeadLetterError {
  return isInstance(error, RetryLaterError) || isInstance(error, DeadLetterError);
}

function isNonRetryable(error: unknown): boolean {
  return (
    isInstance(error, NonRetryableError) ||
    (isInstance(error, TransactionError) && readProperty(error, 'nonRetryable') === true)
  );
}

/**
 * Whether the engine is running inside the callback of a handler's or a settlement's
 * Promise. Completions that arrive that way come in bursts (every promise resolved in one
 * tick), so the continuous loop refills once after the burst instead of once per
 * completion. Completions from Observables and synchronous handlers (including everything
 * in `TestScheduler.run`) refill at once, which keeps virtual time exact.
 */
let depth = 0;

export function enterPromiseReaction(): void {
  depth++;
}

export function leavePromiseReaction(): void {
  depth--;
}

export function inPromiseReaction(): boolean {
  return depth > 0;
}

/**
 * The number of the first process attempt of a transaction's delivery. With `durableAfter`, a
 * transaction delivered again goes on where its earlier deliveries stopped: the first delivery
 * ran attempts 1 to m (m: the first attempt whose backoff, without jitter, exceeds
 * `durableAfter`), each later one runs one attempt, so delivery d starts at m + d − 1. A
 * redelivery for another reason (a crash, a stop) also counts, which only ever ends retrying
 * earlier, never later than `maxAttempts`.
 */
export function firstAttemptOf(
  retry: Partial<ProcessRetryPolicy>,
  transaction: Transaction,
): number {
  const durableAfter = retry.durableAfter;
  if (durableAfter === undefined || durableAfter === null) return 1;
  const deliveries = deliveryCountOf(transaction);
  if (deliveries <= 1) return 1;
  const policy = retry as ProcessRetryPolicy;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
    if (backoffDelay({ ...policy, jitter: 'none' }, attempt - 1) > durableAfter) {
      return Math.min(attempt + deliveries - 1, policy.maxAttempts);
    }
  }
  return 1;
}
