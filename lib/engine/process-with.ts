import type { OperatorFunction, Subscriber } from 'rxjs';
import type { TransactionError } from '../core/errors.js';
import type { Outcome } from '../core/outcome.js';
import type { Transaction } from '../core/transaction.js';
import {
  consumerPolicy,
  type ConsumerPolicy,
  type ConsumerPolicyInput,
} from '../policy/consumer-policy.js';
import type { EngineOptions } from './engine-options.js';
import { EngineClock } from './internal/engine-clock.js';
import { engineOperator, SourceRun } from './internal/engine-run.js';
import { RunTelemetry } from './internal/instrumentation/run-telemetry.js';
import type { Lifecycle } from './internal/lifecycle.js';
import { LifecyclePool, type PoolListener } from './internal/lifecycle-pool.js';
import { consumerPlan, processBatcher } from './internal/task-plan.js';
import type { ProcessBatcher } from './internal/process-batcher.js';
import { Downstream } from './internal/flow-gates.js';
import { startGate } from './internal/shared-rate-gate.js';
import {
  type Starter,
  waitingRoom,
  type TransactionKey,
  type WaitingRoom,
} from './internal/waiting-room.js';
import {
  requireConsumerTask,
  requireKeyForKeyPolicy,
  type ConsumerTask,
} from './task-definition.js';

/**
 * Runs every transaction of the source through `task`'s lifecycle with at most
 * `loop.concurrency.value` in flight, emitting one {@link Outcome} per transaction as each
 * finishes. Uses the stage retry policies and `transactionRuntime.timeout` of `policy`;
 * fetching, limits and settlement belong to {@link consume}.
 *
 * A push source can outrun the handlers: values beyond the concurrency wait in an internal
 * queue (use {@link consume} with a connector for bounded memory). When the source errors,
 * what it already emitted is finished first, then the error is forwarded. Unsubscribing
 * cancels in-flight lifecycles (their signals abort).
 *
 * ```
 * source:   -a-b-c-------|
 * process:  each takes 4 frames, concurrency 2
 * result:   -----a-b---c-|
 * ```
 *
 * @example
 * ```ts
 * fromEvent(emitter, 'order').pipe(
 *   map((order) => createTransaction(order)),
 *   processWith(task, { loop: { concurrency: { value: 8 } } }),
 *   filter((outcome) => outcome.status !== 'success'),
 * ).subscribe(alert);
 * ```
 */
export function processWith<P, R, S>(
  task: ConsumerTask<P, R, S>,
  policy?: ConsumerPolicyInput,
  options: EngineOptions = {},
): OperatorFunction<Transaction<P>, Outcome<P, R>> {
  requireConsumerTask(task, 'processWith');
  const decoded = consumerPolicy(policy);
  requireKeyForKeyPolicy(task, decoded, 'processWith');
  const consumer = task as ConsumerTask<P, R, unknown>;
  return engineOperator(
    (subscriber) =>
      new ProcessRun<P, R>(
        consumer,
        decoded,
        new EngineClock(options.scheduler),
        new RunTelemetry('consumer', task.name, {}, { traces: options.traces }),
        subscriber,
      ),
  );
}

/**
 * The run behind {@link processWith}: at most `concurrency` lifecycles (and of a key, as its
 * waiting room allows), the rest waiting.
 */
class ProcessRun<P, R>
  extends SourceRun<Transaction<P>, Outcome<P, R>>
  implements PoolListener<P, R, TransactionKey>, Starter<P>
{
  private readonly pool: LifecyclePool<P, R, TransactionKey>;
  /** `loop.concurrency.value`: the limit when it does not adapt. */
  private readonly fixedConcurrency: number;
  private readonly waiting: WaitingRoom<P>;
  /** Forms the batches of a task with `processBatch`; `null` for one with `process`. */
  private readonly batcher: ProcessBatcher<P> | null;
  /** The pause while the downstream is rate limiting. */
  private readonly downstream: Downstream;

  constructor(
    task: ConsumerTask<P, R, unknown>,
    policy: ConsumerPolicy,
    clock: EngineClock,
    telemetry: RunTelemetry,
    subscriber: Subscriber<Outcome<P, R>>,
  ) {
    super(subscriber, clock, telemetry);
    const wake = (): void => this.pump();
    this.downstream = new Downstream(clock.scheduler, task.logger, wake, {
      breaker: policy.loop.circuitBreaker,
      changed: (state) => telemetry.circuitChanged(state),
      paused: (delay) => telemetry.ratePaused(delay),
      concurrency: policy.loop.concurrency,
      inFlight: () => this.pool.inFlight,
      rate:
        policy.loop.rateLimit === null
          ? null
          : startGate(policy.loop.rateLimit, clock.scheduler, task.logger, wake),
    });
    this.batcher = processBatcher(task, policy, clock, telemetry, this.downstream);
    const plan = consumerPlan<P, R, TransactionKey>(task, policy, {
      batcher: this.batcher,
      downstream: this.downstream,
    });
    this.pool = new LifecyclePool(plan, clock, telemetry, null, this);
    this.fixedConcurrency = policy.loop.concurrency.value;
    this.waiting = waitingRoom(
      task.key,
      policy.loop.keyConcurrency.value,
      policy.loop.keyRateLimit === null
        ? null
        : { limit: policy.loop.keyRateLimit, scheduler: clock.scheduler, wake: wake },
    );
  }

  /** Most transactions in flight now (`loop.concurrency`, adaptive or fixed). */
  private get concurrency(): number {
    const adaptive = this.downstream.adaptive;
    return adaptive === null ? this.fixedConcurrency : adaptive.current;
  }

  take(transaction: Transaction<P>): void {
    if (this.finished) return;
    this.waiting.add(transaction);
    this.pump();
  }

  outcome(outcome: Outcome<P, R>, lifecycle: Lifecycle<P, R, TransactionKey> | null): void {
    if (lifecycle !== null) this.waiting.ended(lifecycle.attachment);
    this.emit(outcome);
  }

  freed(): void {
    this.pump();
  }

  protected step(): void {
    // An outcome emitted synchronously may unsubscribe (tear the run down) in mid-pass.
    while (
      !this.finished &&
      this.pool.inFlight < this.concurrency &&
      this.downstream.allows(this.waiting.length > this.waiting.parked) &&
      this.waiting.startNext(this)
    ) {
      // started
    }
    // A partial batch goes now when no more can join it: the source ended or every slot is
    // taken.
    if (
      this.batcher !== null &&
      !this.finished &&
      (this.sourceDone || this.pool.inFlight >= this.concurrency)
    ) {
      this.batcher.flush();
    }
    if (
      !this.finished &&
      this.sourceDone &&
      this.pool.inFlight === 0 &&
      this.waiting.length === 0
    ) {
      this.finish();
    }
  }

  /** Starter of the waiting room. */
  startOne(
    transaction: Transaction<P>,
    key: TransactionKey,
    failure: TransactionError | null,
  ): void {
    this.pool.start(transaction, null, key, failure);
  }

  protected override dispose(): void {
    this.batcher?.dispose();
    this.downstream.dispose();
    this.waiting.dispose();
    super.dispose();
  }

  protected cancel(): void {
    this.waiting.drain();
    this.pool.cancelAll('unsubscribe');
  }
}
