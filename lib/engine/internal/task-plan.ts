import type { Eventually } from '../../core/connector.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionError } from '../../core/errors.js';
import type { ConsumerPolicy } from '../../policy/consumer-policy.js';
import type { ProducerPolicy } from '../../policy/producer-policy.js';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { HandlerContext } from '../handler-context.js';
import type { Lifecycle, LifecyclePlan, StagePlan } from './lifecycle.js';
import type { ConsumerTask, ProducerTask } from '../task-definition.js';
import { slowNoticeSetting } from './transaction-log.js';
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
  return {
    mainStage: 'process',
    scope: task,
    budget: policy.transactionRuntime.timeout,
    slowNotice: slowNoticeSetting(
      policy.transactionRuntime,
      policy.process.retry,
      policy.loop.timeout,
    ),
    stages: {
      process:
        process === undefined
          ? undefined
          : {
              retry: policy.process.retry,
              handler: (transaction, _input, context) => process(transaction, context),
            },
      success:
        onSuccess === undefined
          ? undefined
          : {
              retry: policy.success.retry,
              handler: (transaction, input, context) => onSuccess(transaction, input as R, context),
            },
      exception: exceptionStage(onException, policy.exception.retry),
    },
    ...(run.downstream === undefined ? {} : { downstream: run.downstream }),
    ...(batcher === null
      ? {}
      : { batcher, abandon: (lifecycle: Lifecycle<P, R, A>) => batcher.leave(lifecycle) }),
  };
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
  return {
    mainStage: 'prepare',
    scope: task,
    budget: policy.transactionRuntime.timeout,
    slowNotice: slowNoticeSetting(
      policy.transactionRuntime,
      policy.prepare.retry,
      policy.loop.timeout,
    ),
    stages: {
      prepare: {
        retry: policy.prepare.retry,
        handler: (transaction, _input, context) =>
          prepare === undefined ? transaction : prepare(transaction, context),
      },
      success:
        onSuccess === undefined
          ? undefined
          : {
              retry: policy.success.retry,
              handler: (transaction, input, context) =>
                onSuccess(transaction, input as Transaction<O>, context),
            },
      exception: exceptionStage(onException, policy.exception.retry),
    },
    dispatch,
    abandon,
  };
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
    : {
        retry,
        handler: (transaction, input, context) =>
          onException(transaction, input as TransactionError, context),
      };
}
