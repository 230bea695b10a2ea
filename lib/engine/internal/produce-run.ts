import { timer, type Subscriber, type Subscription } from 'rxjs';
import { CancellationError, LoopTimeoutError } from '../../core/errors.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import type { Outcome, ReleaseReason } from '../../core/outcome.js';
import { createTransaction, isTransaction, type Transaction } from '../../core/transaction.js';
import type { Connector } from '../../core/connector.js';
import { dispatchOptionsOf } from '../../policy/dispatch-options.js';
import type { ProducerPolicy } from '../../policy/producer-policy.js';
import { BatchDispatcher, type DispatchWaiter } from './batch-dispatcher.js';
import type { EngineClock } from './engine-clock.js';
import type { Lifecycle } from './lifecycle.js';
import { RunTelemetry } from './instrumentation/run-telemetry.js';
import { LifecyclePool, type PoolListener } from './lifecycle-pool.js';
import type { ProducerTask } from '../task-definition.js';
import { producerPlan } from './task-plan.js';
import { SourceRun } from './engine-run.js';

/** One input transaction's way to the dispatcher, kept as its lifecycle's attachment. */
class HandOver<P, O> implements DispatchWaiter<O> {
  /**
   * `preparing`: in its prepare stage; `blocked`: prepared, waiting for room in the
   * dispatcher; `offered`: in the dispatcher; `abandoned`: its lifecycle gave up first.
   */
  state: 'preparing' | 'blocked' | 'offered' | 'abandoned' = 'preparing';
  /** Whether it still holds a prepare slot (until offered, or until it gives up). */
  holdsSlot = true;
  outbound: Transaction<O> | null = null;
  lifecycle: Lifecycle<P, Transaction<O>, HandOver<P, O>> | null = null;

  dispatched(): void {
    this.lifecycle?.dispatched(this.outbound as Transaction<O>);
  }

  failed(_transaction: Transaction<O>, error: unknown): void {
    this.lifecycle?.dispatchFailed(error);
  }
}

/**
 * The state machine behind {@link produce}: at most `loop.concurrency.value` transactions
 * in their prepare stage (a prepared one keeps its slot until the dispatcher has room for
 * it, which is the backpressure), batches formed and sent by a {@link BatchDispatcher}, one
 * outcome per input transaction.
 */
export class ProduceRun<P, O>
  extends SourceRun<Transaction<P> | P, Outcome<P, Transaction<O>>>
  implements PoolListener<P, Transaction<O>, HandOver<P, O>>
{
  private readonly pool: LifecyclePool<P, Transaction<O>, HandOver<P, O>>;
  private readonly dispatcher: BatchDispatcher<O>;
  private readonly waiting = new FifoQueue<Transaction<P>>();
  private readonly blocked = new FifoQueue<HandOver<P, O>>();
  private readonly concurrency: number;
  /** Lifecycles holding a prepare slot: in their prepare stage, or prepared and blocked. */
  private preparing = 0;
  private stopped: ReleaseReason | null = null;
  private loopTimer: Subscription | null = null;

  constructor(
    connector: Connector<O>,
    private readonly task: ProducerTask<P, O, unknown>,
    policy: ProducerPolicy,
    clock: EngineClock,
    subscriber: Subscriber<Outcome<P, Transaction<O>>>,
    /** Stops taking input from the source (a loop timeout). */
    private readonly stopIntake: () => void,
    traces = true,
  ) {
    super(subscriber, clock, new RunTelemetry('producer', task.name, connector, { traces }));
    this.concurrency = policy.loop.concurrency.value;
    const plan = producerPlan<P, O, HandOver<P, O>>(
      task,
      policy,
      (lifecycle, value) => this.dispatch(lifecycle, value),
      (lifecycle) => this.abandon(lifecycle),
    );
    this.pool = new LifecyclePool(plan, clock, this.telemetry, null, this);
    this.dispatcher = new BatchDispatcher(
      connector,
      dispatchOptionsOf(policy),
      clock,
      { receipt: () => undefined, space: () => this.pump() },
      this.telemetry,
    );
    const timeout = policy.loop.timeout;
    if (timeout !== null) {
      this.loopTimer = timer(timeout, clock.scheduler).subscribe(() =>
        this.halt('loopTimeout', new LoopTimeoutError(timeout, 'produce')),
      );
    }
  }

  /**
   * A value of the source (the limit is applied upstream with `take`): a transaction, or a
   * payload to wrap in one.
   */
  take(input: Transaction<P> | P): void {
    if (this.stopped !== null || this.finished) return;
    this.waiting.push(isTransaction(input) ? input : createTransaction(input));
    this.pump();
  }

  outcome(
    outcome: Outcome<P, Transaction<O>>,
    lifecycle: Lifecycle<P, Transaction<O>, HandOver<P, O>> | null,
  ): void {
    if (lifecycle !== null) this.freeSlot(lifecycle.attachment);
    this.emit(outcome);
  }

  freed(): void {
    this.pump();
  }

  /**
   * A lifecycle gave up before its dispatch finished: free its slot, and take its transaction
   * back from the forming batch; `false` when its batch is already being sent.
   */
  private abandon(lifecycle: Lifecycle<P, Transaction<O>, HandOver<P, O>>): boolean {
    const handOver = lifecycle.attachment;
    this.freeSlot(handOver);
    if (handOver.state === 'offered') {
      return this.dispatcher.withdraw(handOver.outbound as Transaction<O>);
    }
    handOver.state = 'abandoned';
    return true;
  }

  private freeSlot(handOver: HandOver<P, O>): void {
    if (!handOver.holdsSlot) return;
    handOver.holdsSlot = false;
    this.preparing--;
  }

  /** A prepared transaction goes to the dispatcher (now, or once it has room). */
  private dispatch(lifecycle: Lifecycle<P, Transaction<O>, HandOver<P, O>>, value: unknown): void {
    const input = lifecycle.transaction;
    const handOver = lifecycle.attachment;
    handOver.outbound =
      this.task.prepare === undefined
        ? (value as Transaction<O>)
        : createTransaction(value as O, { id: input.id, metadata: input.metadata });
    handOver.state = 'blocked';
    this.blocked.push(handOver);
    this.pump();
  }

  protected step(): void {
    if (this.finished) return;
    while (this.stopped === null && this.blocked.length > 0 && this.dispatcher.hasSpace()) {
      const handOver = this.blocked.shift() as HandOver<P, O>;
      if (handOver.state !== 'blocked') continue;
      handOver.state = 'offered';
      this.freeSlot(handOver);
      const lifecycle = handOver.lifecycle as Lifecycle<P, Transaction<O>, HandOver<P, O>>;
      this.dispatcher.offer(handOver.outbound as Transaction<O>, handOver, lifecycle.context);
    }
    while (this.stopped === null && this.waiting.length > 0 && this.preparing < this.concurrency) {
      this.preparing++;
      const handOver = new HandOver<P, O>();
      handOver.lifecycle = this.pool.start(this.waiting.shift() as Transaction<P>, null, handOver);
    }
    const intakeOver = this.sourceDone || this.stopped !== null;
    if (intakeOver && this.waiting.length === 0 && this.preparing === 0) this.dispatcher.drain();
    if (
      intakeOver &&
      this.waiting.length === 0 &&
      this.pool.inFlight === 0 &&
      this.dispatcher.idle
    ) {
      this.finish();
    }
  }

  private halt(reason: ReleaseReason, failure: Error): void {
    if (this.finished || this.stopped !== null) return;
    this.stopped = reason;
    this.failure ??= { error: failure };
    this.stopIntake();
    this.cancelEverything(reason);
    this.pump();
  }

  protected cancel(): void {
    this.cancelEverything('unsubscribe');
  }

  protected override dispose(): void {
    this.loopTimer?.unsubscribe();
    super.dispose();
  }

  /**
   * Releases what waits and cancels every lifecycle, then aborts the batches being sent:
   * their transactions end as those dispatches really ended (never `released` once the
   * destination took them). Passes wait until everything is cancelled, so no outcome
   * emitted on the way can start new work.
   */
  private cancelEverything(reason: ReleaseReason): void {
    this.held(() => {
      for (const transaction of this.waiting.drain()) this.pool.release(transaction, reason);
      this.pool.cancelAll(reason);
      this.dispatcher.cancelAll(new CancellationError(reason));
    });
  }
}
