import type { Eventually } from '../../core/eventually.js';
import type { Transaction } from '../../core/transaction.js';
import type { TransactionError } from '../../core/transaction-error.js';
import type { ConsumerPolicy } from '../../policy/consumer-policy.js';
import type { ProducerPolicy } from '../../policy/producer-policy.js';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { ConsumerTask } from '../task-definition.js';
import type { AttemptContext, HandlerScope } from '../handler-context.js';
import type { HandlerStage, Lifecycle, LifecyclePlan, MainStage } from './lifecycle.js';
import type { ProducerTask } from '../task-definition.js';
import { slowNoticeSetting, type SlowNoticeSetting } from './transaction-log.js';

type Handler = (
  transaction: Transaction,
  input: unknown,
  context: AttemptContext,
) => Eventually<unknown>;

/**
 * How a task runs a transaction: its main stage (`process` or `prepare`) → onSuccess → (on
 * failure) onException, each under the retry policy of its stage, with the task's services
 * and logger as handler scope. A producer's plan also hands prepared transactions over to
 * the dispatcher.
 */
class TaskPlan<P, R> implements LifecyclePlan<P, R> {
  readonly hasSuccessHandler: boolean;
  readonly hasExceptionHandler: boolean;

  constructor(
    readonly mainStage: MainStage,
    readonly scope: HandlerScope<unknown>,
    readonly budget: number | null,
    readonly slowNotice: SlowNoticeSetting | null,
    private readonly retries: Readonly<Record<MainStage | 'success' | 'exception', RetryPolicy>>,
    private readonly main: Handler,
    private readonly success: Handler | undefined,
    private readonly exception: Handler | undefined,
    readonly handOver?: (lifecycle: Lifecycle<P, R>, value: unknown) => void,
    readonly abandon?: (lifecycle: Lifecycle<P, R>) => boolean,
  ) {
    this.hasSuccessHandler = success !== undefined;
    this.hasExceptionHandler = exception !== undefined;
  }

  retryFor(stage: HandlerStage): RetryPolicy {
    return stage === 'process' || stage === 'prepare'
      ? this.retries[this.mainStage]
      : this.retries[stage];
  }

  invoke(
    stage: HandlerStage,
    transaction: Transaction<P>,
    input: unknown,
    context: AttemptContext,
  ): Eventually<unknown> {
    const handler =
      stage === 'success' ? this.success : stage === 'exception' ? this.exception : this.main;
    return (handler as Handler)(transaction, input, context);
  }
}

/** The plan of a consumer task: process → onSuccess → (on failure) onException. */
export function consumerPlan<P, R>(
  task: ConsumerTask<P, R, unknown>,
  policy: ConsumerPolicy,
): LifecyclePlan<P, R> {
  const { onSuccess, onException } = task;
  return new TaskPlan<P, R>(
    'process',
    task,
    policy.transactionRuntime.timeout,
    slowNoticeSetting(policy.transactionRuntime, policy.process.retry, policy.loop.timeout),
    {
      process: policy.process.retry,
      prepare: policy.process.retry,
      success: policy.success.retry,
      exception: policy.exception.retry,
    },
    (transaction, _input, context) => task.process(transaction as Transaction<P>, context),
    onSuccess === undefined
      ? undefined
      : (transaction, input, context) =>
          onSuccess(transaction as Transaction<P>, input as R, context),
    onException === undefined
      ? undefined
      : (transaction, input, context) =>
          onException(transaction as Transaction<P>, input as TransactionError, context),
  );
}

/**
 * The plan of a producer task: prepare → hand-over (the dispatch of what prepare returned,
 * done by `handOver`) → onSuccess → (on failure) onException.
 */
export function producerPlan<P, O>(
  task: ProducerTask<P, O, unknown>,
  policy: ProducerPolicy,
  handOver: (lifecycle: Lifecycle<P, Transaction<O>>, value: unknown) => void,
  abandon: (lifecycle: Lifecycle<P, Transaction<O>>) => boolean,
): LifecyclePlan<P, Transaction<O>> {
  const { prepare, onSuccess, onException } = task;
  return new TaskPlan<P, Transaction<O>>(
    'prepare',
    task,
    policy.transactionRuntime.timeout,
    slowNoticeSetting(policy.transactionRuntime, policy.prepare.retry, policy.loop.timeout),
    {
      process: policy.prepare.retry,
      prepare: policy.prepare.retry,
      success: policy.success.retry,
      exception: policy.exception.retry,
    },
    (transaction, _input, context) =>
      prepare === undefined ? transaction : prepare(transaction as Transaction<P>, context),
    onSuccess === undefined
      ? undefined
      : (transaction, input, context) =>
          onSuccess(transaction as Transaction<P>, input as Transaction<O>, context),
    onException === undefined
      ? undefined
      : (transaction, input, context) =>
          onException(transaction as Transaction<P>, input as TransactionError, context),
    handOver,
    abandon,
  );
}
