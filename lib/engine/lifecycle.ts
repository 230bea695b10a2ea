import { CancellationError } from '../core/cancellation-error.js';
import { decodeFailureOf } from '../core/decode-failure.js';
import { describeError } from '../core/describe-error.js';
import type { Eventually } from '../core/eventually.js';
import type { Outcome } from '../core/outcome.js';
import type { ReleaseReason } from '../core/settle-decision.js';
import type { Transaction } from '../core/transaction.js';
import { TransactionError } from '../core/transaction-error.js';
import type { ConsumerPolicy } from '../policy/consumer-policy.js';
import type { ConsumerTask } from './consumer-task.js';
import type { Deadline, DeadlineTarget } from './deadline-queue.js';
import type { EngineClock } from './engine-clock.js';
import type { AttemptContext } from './handler-context.js';
import { StageRun, type StageOwner } from './stage-run.js';

type LifecycleStage = 'process' | 'success' | 'exception';

/** What a lifecycle needs from the run it belongs to. */
export interface LifecycleHost<P, R> {
  readonly task: ConsumerTask<P, R, unknown>;
  readonly policy: ConsumerPolicy;
  readonly clock: EngineClock;
  /** Called once with the lifecycle's outcome. */
  ended(lifecycle: Lifecycle<P, R>, outcome: Outcome<P, R>): void;
}

/**
 * One transaction's way through process → onSuccess → (on failure) onException, each stage
 * under its own retry policy, with the runtime budget (`transactionRuntime.timeout`) over
 * process and onSuccess. Whatever happens it ends exactly once: with an outcome, or
 * cancelled with a `released` outcome.
 */
export class Lifecycle<P, R> implements StageOwner<unknown>, DeadlineTarget {
  /** Links of the host's list of unfinished lifecycles. */
  previous: Lifecycle<P, R> | null = null;
  next: Lifecycle<P, R> | null = null;

  private stage: LifecycleStage = 'process';
  private run: StageRun<unknown> | null = null;
  private budget: Deadline | null = null;
  private result: R | undefined = undefined;
  private error: TransactionError | null = null;
  private ended = false;

  constructor(
    private readonly host: LifecycleHost<P, R>,
    readonly transaction: Transaction<P>,
  ) {}

  start(): void {
    const decodeError = decodeFailureOf(this.transaction);
    if (decodeError !== undefined) {
      this.fail(
        new TransactionError(
          `payload of transaction ${this.transaction.id} could not be decoded: ${describeError(decodeError)}`,
          {
            category: 'business',
            transactionId: this.transaction.id,
            stage: 'decode',
            cause: decodeError,
            nonRetryable: true,
          },
        ),
      );
      return;
    }
    const budget = this.host.policy.transactionRuntime.timeout;
    if (budget !== null) this.budget = this.host.clock.deadline(budget, this);
    this.enter('process');
  }

  /** Cancels whatever runs and ends with a `released` outcome (no-op once ended). */
  cancel(reason: ReleaseReason): void {
    if (this.ended) return;
    this.run?.cancel(new CancellationError(reason));
    this.end({ status: 'released', transaction: this.transaction, reason });
  }

  invoke(context: AttemptContext): Eventually<unknown> {
    const task = this.host.task;
    switch (this.stage) {
      case 'process':
        return task.process(this.transaction, context);
      case 'success':
        return (task.onSuccess as NonNullable<typeof task.onSuccess>)(
          this.transaction,
          this.result as R,
          context,
        );
      case 'exception':
        return (task.onException as NonNullable<typeof task.onException>)(
          this.transaction,
          this.error as TransactionError,
          context,
        );
    }
  }

  succeeded(run: StageRun<unknown>, value: unknown): void {
    if (run !== this.run) return;
    switch (this.stage) {
      case 'process':
        this.result = value as R;
        if (this.host.task.onSuccess !== undefined) this.enter('success');
        else this.succeed();
        return;
      case 'success':
        this.succeed();
        return;
      case 'exception': {
        const error = this.error as TransactionError;
        this.end(
          error.category === 'timeout'
            ? { status: 'timeout', transaction: this.transaction, error, handled: true }
            : { status: 'exception', transaction: this.transaction, error, handled: value },
        );
      }
    }
  }

  failed(run: StageRun<unknown>, error: unknown): void {
    if (run !== this.run) return;
    const wrapped = TransactionError.wrap(error, {
      transactionId: this.transaction.id,
      stage: this.stage,
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

  /** The runtime budget ran out during process or onSuccess. */
  expire(): void {
    this.budget = null;
    if (this.ended || this.stage === 'exception') return;
    const budget = this.host.policy.transactionRuntime.timeout as number;
    const error = new TransactionError(
      `transaction ${this.transaction.id} exceeded its runtime budget of ${budget} ms in stage ${this.stage}`,
      { category: 'timeout', transactionId: this.transaction.id, stage: this.stage },
    );
    this.run?.cancel(error);
    this.fail(error);
  }

  private enter(stage: LifecycleStage): void {
    this.stage = stage;
    const retry = this.host.policy[stage].retry;
    const run = new StageRun<unknown>(this.host.clock, retry, stage, this.host.task, this);
    this.run = run;
    run.start();
  }

  private succeed(): void {
    this.end({ status: 'success', transaction: this.transaction, result: this.result as R });
  }

  /** Routes a failure to onException, outside the runtime budget. */
  private fail(error: TransactionError): void {
    this.budget?.cancel();
    this.budget = null;
    this.error = error;
    if (this.host.task.onException === undefined) {
      this.end(
        this.error.category === 'timeout'
          ? { status: 'timeout', transaction: this.transaction, error: this.error, handled: false }
          : { status: 'failed', transaction: this.transaction, error: this.error },
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
    this.host.ended(this, outcome);
  }
}
