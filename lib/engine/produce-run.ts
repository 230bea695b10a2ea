import type { Subscriber, Subscription } from 'rxjs';
import { timer } from 'rxjs';
import { CancellationError } from '../core/cancellation-error.js';
import { FifoQueue } from '../core/fifo-queue.js';
import { LoopTimeoutError } from '../core/loop-timeout-error.js';
import type { Outcome } from '../core/outcome.js';
import type { ReleaseReason } from '../core/settle-decision.js';
import { createTransaction, type Transaction } from '../core/transaction.js';
import type { Connector } from '../connector/connector.js';
import { dispatchOptionsOf } from '../policy/dispatch-options.js';
import type { ProducerPolicy } from '../policy/producer-policy.js';
import { BatchDispatcher, type DispatchWaiter } from './batch-dispatcher.js';
import type { EngineClock } from './engine-clock.js';
import type { Lifecycle } from './lifecycle.js';
import { RunTelemetry } from './instrumentation/run-telemetry.js';
import { LifecyclePool, type PoolListener } from './lifecycle-pool.js';
import { ProducerPlan } from './producer-plan.js';
import type { ProducerTask } from './producer-task.js';

/** A prepared transaction between its prepare stage and the end of its dispatch. */
class HandOver<P, O> implements DispatchWaiter<O> {
  /**
   * `blocked`: waits for room in the dispatcher (and still holds a prepare slot); `offered`:
   * in the dispatcher; `abandoned`: its lifecycle gave up before it was offered.
   */
  state: 'blocked' | 'offered' | 'abandoned' = 'blocked';

  constructor(
    readonly lifecycle: Lifecycle<P, Transaction<O>>,
    readonly outbound: Transaction<O>,
  ) {}

  dispatched(): void {
    this.lifecycle.handedOver(this.outbound);
  }

  failed(_transaction: Transaction<O>, error: unknown): void {
    this.lifecycle.handOverFailed(error);
  }
}

/**
 * The state machine behind {@link produce}: at most `loop.concurrency.value` transactions
 * in their prepare stage (a prepared one keeps its slot until the dispatcher has room for
 * it, which is the backpressure), batches formed and sent by a {@link BatchDispatcher}, one
 * outcome per input transaction.
 */
export class ProduceRun<P, O> implements PoolListener<P, Transaction<O>> {
  private readonly pool: LifecyclePool<P, Transaction<O>>;
  private readonly telemetry: RunTelemetry;
  private readonly dispatcher: BatchDispatcher<O>;
  private readonly waiting = new FifoQueue<Transaction<P>>();
  private readonly blocked = new FifoQueue<HandOver<P, O>>();
  private readonly handOvers = new Map<Transaction<P>, HandOver<P, O>>();
  private readonly concurrency: number;
  /** Lifecycles holding a prepare slot: in their prepare stage, or prepared and blocked. */
  private preparing = 0;
  /** Input transactions whose lifecycle still holds its prepare slot. */
  private readonly slots = new Set<Transaction<P>>();
  private sourceDone = false;
  private failure: { error: unknown } | null = null;
  private stopped: ReleaseReason | null = null;
  private loopTimer: Subscription | null = null;
  private finished = false;
  private pumping = false;
  /** An outcome is being emitted: the run goes on after it passed (`freed` pumps). */
  private emitting = false;
  private pumpAgain = false;

  constructor(
    connector: Connector<O>,
    private readonly task: ProducerTask<P, O, unknown>,
    policy: ProducerPolicy,
    private readonly clock: EngineClock,
    private readonly subscriber: Subscriber<Outcome<P, Transaction<O>>>,
    /** Stops taking input from the source (the limit was reached). */
    private readonly stopIntake: () => void,
  ) {
    this.concurrency = policy.loop.concurrency.value;
    const plan = new ProducerPlan(
      task,
      policy,
      (lifecycle, value) => this.handOver(lifecycle, value),
      (lifecycle) => this.abandon(lifecycle),
    );
    this.telemetry = new RunTelemetry('producer', task.name, connector);
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

  /** A value of the source (the limit is applied upstream with `take`). */
  take(input: Transaction<P>): void {
    if (this.stopped !== null || this.finished) return;
    this.waiting.push(input);
    this.pump();
  }

  sourceEnded(error: { error: unknown } | null): void {
    if (this.sourceDone) return;
    this.sourceDone = true;
    this.failure ??= error;
    this.stopIntake();
    this.pump();
  }

  /** Hard stop: cancel everything now; nothing more is emitted. */
  teardown(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelEverything('unsubscribe');
    this.loopTimer?.unsubscribe();
    this.clock.dispose();
    this.telemetry.end();
  }

  outcome(outcome: Outcome<P, Transaction<O>>): void {
    this.freeSlot(outcome.transaction);
    this.handOvers.delete(outcome.transaction);
    this.emitting = true;
    try {
      this.subscriber.next(outcome);
    } finally {
      this.emitting = false;
    }
  }

  freed(): void {
    this.pump();
  }

  /**
   * A lifecycle gave up before its dispatch finished: free its slot, and take its transaction
   * back from the forming batch; `false` when its batch is already being sent.
   */
  private abandon(lifecycle: Lifecycle<P, Transaction<O>>): boolean {
    const input = lifecycle.transaction;
    this.freeSlot(input);
    const handOver = this.handOvers.get(input);
    if (handOver === undefined) return true;
    if (handOver.state === 'blocked') {
      handOver.state = 'abandoned';
      return true;
    }
    return this.dispatcher.withdraw(handOver.outbound);
  }

  private freeSlot(input: Transaction<P>): void {
    if (this.slots.delete(input)) this.preparing--;
  }

  private handOver(lifecycle: Lifecycle<P, Transaction<O>>, value: unknown): void {
    const input = lifecycle.transaction;
    const outbound =
      this.task.prepare === undefined
        ? (value as Transaction<O>)
        : createTransaction(value as O, { id: input.id, metadata: input.metadata });
    const handOver = new HandOver(lifecycle, outbound);
    this.handOvers.set(input, handOver);
    this.blocked.push(handOver);
    this.pump();
  }

  private pump(): void {
    if (this.pumping || this.emitting) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    do {
      this.pumpAgain = false;
      this.step();
    } while (this.pumpAgain);
    this.pumping = false;
  }

  private step(): void {
    if (this.finished) return;
    while (this.blocked.length > 0 && this.dispatcher.hasSpace()) {
      const handOver = this.blocked.shift() as HandOver<P, O>;
      if (handOver.state !== 'blocked') continue;
      handOver.state = 'offered';
      this.freeSlot(handOver.lifecycle.transaction);
      this.dispatcher.offer(handOver.outbound, handOver, handOver.lifecycle.context);
    }
    while (this.stopped === null && this.waiting.length > 0 && this.preparing < this.concurrency) {
      const input = this.waiting.shift() as Transaction<P>;
      this.preparing++;
      this.slots.add(input);
      this.pool.start(input);
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

  private cancelEverything(reason: ReleaseReason): void {
    this.dispatcher.cancelAll(new CancellationError(reason));
    for (const transaction of this.waiting.drain()) this.pool.release(transaction, reason);
    this.pool.cancelAll(reason);
  }

  private finish(): void {
    this.finished = true;
    this.loopTimer?.unsubscribe();
    this.clock.dispose();
    this.telemetry.end(this.failure === null ? undefined : this.failure.error);
    if (this.failure === null) this.subscriber.complete();
    else this.subscriber.error(this.failure.error);
  }
}
