import type { Eventually } from '../core/eventually.js';
import type { Transaction } from '../core/transaction.js';
import type { TransactionError } from '../core/transaction-error.js';
import type { ProducerPolicy } from '../policy/producer-policy.js';
import type { RetryPolicy } from '../policy/retry-policy.js';
import type { AttemptContext, HandlerScope } from './handler-context.js';
import type { HandlerStage, Lifecycle, LifecyclePlan } from './lifecycle.js';
import type { ProducerTask } from './producer-task.js';

/**
 * How a producer task runs a transaction: prepare → hand-over (the dispatch of what prepare
 * returned, done by `handOver`) → onSuccess → (on failure) onException.
 */
export class ProducerPlan<P, O> implements LifecyclePlan<P, Transaction<O>> {
  readonly mainStage = 'prepare';
  readonly budget: number | null;
  readonly hasSuccessHandler: boolean;
  readonly hasExceptionHandler: boolean;
  readonly scope: HandlerScope<unknown>;

  constructor(
    private readonly task: ProducerTask<P, O, unknown>,
    private readonly policy: ProducerPolicy,
    readonly handOver: (lifecycle: Lifecycle<P, Transaction<O>>, value: unknown) => void,
    readonly abandon: (lifecycle: Lifecycle<P, Transaction<O>>) => boolean,
  ) {
    this.budget = policy.transactionRuntime.timeout;
    this.hasSuccessHandler = task.onSuccess !== undefined;
    this.hasExceptionHandler = task.onException !== undefined;
    this.scope = task;
  }

  retryFor(stage: HandlerStage): RetryPolicy {
    return stage === 'process' ? this.policy.prepare.retry : this.policy[stage].retry;
  }

  invoke(
    stage: HandlerStage,
    transaction: Transaction<P>,
    input: unknown,
    context: AttemptContext,
  ): Eventually<unknown> {
    const task = this.task;
    switch (stage) {
      case 'success':
        return (task.onSuccess as NonNullable<typeof task.onSuccess>)(
          transaction,
          input as Transaction<O>,
          context,
        );
      case 'exception':
        return (task.onException as NonNullable<typeof task.onException>)(
          transaction,
          input as TransactionError,
          context,
        );
      default:
        return task.prepare === undefined ? transaction : task.prepare(transaction, context);
    }
  }
}
