import type { Eventually } from '../core/eventually.js';
import type { Transaction } from '../core/transaction.js';
import type { TransactionError } from '../core/transaction-error.js';
import type { ConsumerPolicy } from '../policy/consumer-policy.js';
import type { RetryPolicy } from '../policy/retry-policy.js';
import type { ConsumerTask } from './consumer-task.js';
import type { AttemptContext, HandlerScope } from './handler-context.js';
import type { HandlerStage, LifecyclePlan } from './lifecycle.js';

/** How a consumer task runs a transaction: process → onSuccess → (on failure) onException. */
export class ConsumerPlan<P, R> implements LifecyclePlan<P, R> {
  readonly mainStage = 'process';
  readonly budget: number | null;
  readonly hasSuccessHandler: boolean;
  readonly hasExceptionHandler: boolean;
  readonly scope: HandlerScope<unknown>;

  constructor(
    private readonly task: ConsumerTask<P, R, unknown>,
    private readonly policy: ConsumerPolicy,
  ) {
    this.budget = policy.transactionRuntime.timeout;
    this.hasSuccessHandler = task.onSuccess !== undefined;
    this.hasExceptionHandler = task.onException !== undefined;
    this.scope = task;
  }

  retryFor(stage: HandlerStage): RetryPolicy {
    return stage === 'prepare' ? this.policy.process.retry : this.policy[stage].retry;
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
          input as R,
          context,
        );
      case 'exception':
        return (task.onException as NonNullable<typeof task.onException>)(
          transaction,
          input as TransactionError,
          context,
        );
      default:
        return task.process(transaction, context);
    }
  }
}
