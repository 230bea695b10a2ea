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

/** The plan of a consumer task: process → onSuccess → (on failure) onException. */
export function consumerPlan<P, R>(
  task: ConsumerTask<P, R, unknown>,
  policy: ConsumerPolicy,
): LifecyclePlan<P, R> {
  const { onSuccess, onException } = task;
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
      process: {
        retry: policy.process.retry,
        handler: (transaction, _input, context) => task.process(transaction, context),
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
  };
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
