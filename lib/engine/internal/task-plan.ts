import type { Eventually } from '../../core/connector.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionError } from '../../core/errors.js';
import type { ConsumerPolicy } from '../../policy/consumer-policy.js';
import type { ProducerPolicy } from '../../policy/producer-policy.js';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { AttemptContext, HandlerContext, HandlerScope } from '../handler-context.js';
import type { Lifecycle, LifecyclePlan, StagePlan } from './lifecycle.js';
import type { ConsumerTask, ProducerTask } from '../task-definition.js';
import { slowNoticeSetting, type SlowNoticeSetting } from './transaction-log.js';
import type { EngineClock } from './engine-clock.js';
import type { RunTelemetry } from './instrumentation/run-telemetry.js';
import { ProcessBatcher } from './process-batcher.js';
import type { Downstream } from './flow-gates.js';

/**
 * The plan of a consumer task: process → onSuccess → (on failure) onException. With a
 * `batcher` (a task with `processBatch`), the process stage runs in its batches; with a
 * `downstream` pause, a rate-limited process attempt waits for it.
 */
export function consumerPlan<P, R, A = undefined>(
  task: ConsumerTask<P, R, unknown>,
  policy: ConsumerPolicy,
  run: { readonly batcher?: ProcessBatcher<P> | null; readonly downstream?: Downstream } = {},
): LifecyclePlan<P, R, A> {
  const batcher = run.batcher ?? null;
  const { onSuccess, onException, process } = task;
  return new TaskPlan<P, R, A>(
    'process',
    task,
    policy.transactionRuntime.timeout,
    slowNoticeSetting(policy.transactionRuntime, policy.process.retry, policy.loop.timeout),
    new PlanStages(
      undefined,
      process === undefined ? undefined : new PlainStage(policy.process.retry, process),
      onSuccess === undefined ? undefined : new InputStage<P, R>(policy.success.retry, onSuccess),
      exceptionStage(onException, policy.exception.retry),
    ),
    batcher ?? undefined,
    run.downstream,
    undefined,
    batcher === null ? undefined : (lifecycle) => batcher.leave(lifecycle),
  );
}

/**
 * The batcher of a task with `processBatch` (`null` for one with `process`): batches of
 * `process.batch.size` (default: the concurrency) within `process.batch.maxWait`.
 */
export function processBatcher<P>(
  task: ConsumerTask<P, unknown, unknown>,
  policy: ConsumerPolicy,
  clock: EngineClock,
  telemetry: RunTelemetry,
  downstream: Downstream | null,
): ProcessBatcher<P> | null {
  const { processBatch } = task;
  if (processBatch === undefined) return null;
  const { size, maxWait } = policy.process.batch;
  return new ProcessBatcher<P>(
    processBatch,
    {
      size: size ?? policy.loop.concurrency.value,
      maxWait,
      retry: policy.process.retry,
      downstream,
    },
    clock,
    task,
    telemetry,
  );
}

/**
 * The plan of a producer task: prepare → dispatch (of what prepare returned, done by
 * `dispatch`) → onSuccess → (on failure) onException. `A` is the run's state per
 * transaction, kept as its lifecycle's attachment.
 */
export function producerPlan<P, O, A>(
  task: ProducerTask<P, O, unknown>,
  policy: ProducerPolicy,
  dispatch: (lifecycle: Lifecycle<P, Transaction<O>, A>, value: unknown) => void,
  abandon: (lifecycle: Lifecycle<P, Transaction<O>, A>) => boolean,
): LifecyclePlan<P, Transaction<O>, A> {
  const { prepare, onSuccess, onException } = task;
  return new TaskPlan<P, Transaction<O>, A>(
    'prepare',
    task,
    policy.transactionRuntime.timeout,
    slowNoticeSetting(policy.transactionRuntime, policy.prepare.retry, policy.loop.timeout),
    new PlanStages(
      new PlainStage(policy.prepare.retry, prepare ?? unprepared),
      undefined,
      onSuccess === undefined
        ? undefined
        : new InputStage<P, Transaction<O>>(policy.success.retry, onSuccess),
      exceptionStage(onException, policy.exception.retry),
    ),
    undefined,
    undefined,
    dispatch,
    abandon,
  );
}

/** The exception stage of a task with an `onException` handler (consumer or producer alike). */
function exceptionStage<P>(
  onException:
    | ((
        transaction: Transaction<P>,
        error: TransactionError,
        context: HandlerContext,
      ) => Eventually<unknown>)
    | undefined,
  retry: RetryPolicy,
): StagePlan<P> | undefined {
  return onException === undefined
    ? undefined
    : new InputStage<P, TransactionError>(retry, onException);
}

/** A producer without `prepare` dispatches the transaction as it is. */
function unprepared<P>(transaction: Transaction<P>): Transaction<P> {
  return transaction;
}

// A plan and its parts are class instances, not object literals: V8 tracks the type of a
// literal's fields the first time the literal is made and generalizes it when the same
// literal is made again (from its boilerplate), which threw away the optimized lifecycle code
// that read the plan in a process's first run at the start of the second. Instances of one
// class keep one map and their field types; every stage field is present (`undefined` for a
// stage the task lacks), so consumer and producer plans share one shape as well.
//
// The stages call the task's handlers with `call` (as plain functions, `this` undefined, as
// always): a direct call lets V8 inline the one handler it saw, guarded by that very closure,
// and a task made anew for the next run (a new closure) then threw the lifecycle's optimized
// code away (`wrong call target`); a handler reached through `call` is not speculated on.

class TaskPlan<P, R, A> implements LifecyclePlan<P, R, A> {
  constructor(
    readonly mainStage: LifecyclePlan<P, R, A>['mainStage'],
    readonly scope: HandlerScope<unknown>,
    readonly budget: number | null,
    readonly slowNotice: SlowNoticeSetting | null,
    readonly stages: PlanStages<P>,
    readonly batcher: ProcessBatcher<P> | undefined,
    readonly downstream: Downstream | undefined,
    readonly dispatch: ((lifecycle: Lifecycle<P, R, A>, value: unknown) => void) | undefined,
    readonly abandon: ((lifecycle: Lifecycle<P, R, A>) => boolean) | undefined,
  ) {}
}

class PlanStages<P> {
  constructor(
    readonly prepare: StagePlan<P> | undefined,
    readonly process: StagePlan<P> | undefined,
    readonly success: StagePlan<P> | undefined,
    readonly exception: StagePlan<P> | undefined,
  ) {}
}

/** A stage whose handler takes the transaction and the context (`process`, `prepare`). */
class PlainStage<P> implements StagePlan<P> {
  constructor(
    readonly retry: RetryPolicy,
    private readonly run: (
      transaction: Transaction<P>,
      context: HandlerContext,
    ) => Eventually<unknown>,
  ) {}

  handler(
    transaction: Transaction<P>,
    _input: unknown,
    context: AttemptContext,
  ): Eventually<unknown> {
    return this.run.call(undefined, transaction, context);
  }
}

/** A stage whose handler also takes the stage's input (`onSuccess`: the result; `onException`: the error). */
class InputStage<P, I> implements StagePlan<P> {
  constructor(
    readonly retry: RetryPolicy,
    private readonly run: (
      transaction: Transaction<P>,
      input: I,
      context: HandlerContext,
    ) => Eventually<unknown>,
  ) {}

  handler(
    transaction: Transaction<P>,
    input: unknown,
    context: AttemptContext,
  ): Eventually<unknown> {
    return this.run.call(undefined, transaction, input as I, context);
  }
}
