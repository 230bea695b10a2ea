import type { Span } from '@opentelemetry/api';
import { EMPTY, isObservable, Subscription, timer, type Observable, type Subscriber } from 'rxjs';
import {
  AttemptTimeoutError,
  CancellationError,
  ConnectorContractError,
  FetchError,
  LoopTimeoutError,
  type TransactionError,
} from '../../core/errors.js';
import type { Outcome, ReleaseReason } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import type { Connector } from '../../core/connector.js';
import { describeValue } from '../../core/renderers.js';
import { isInstance } from '../../core/safe-access.js';
import { backoffDelay } from '../../policy/backoff.js';
import type { ConsumerPolicy } from '../../policy/consumer-policy.js';
import type { ConsumerTask } from '../task-definition.js';
import type { EngineClock } from './engine-clock.js';
import { FetchTelemetry, type FetchProgress } from './instrumentation/stage-telemetry.js';
import { RunTelemetry } from './instrumentation/run-telemetry.js';
import type { Lifecycle } from './lifecycle.js';
import { LifecyclePool, type PoolListener } from './lifecycle-pool.js';
import { inPromiseReaction, StageRun, type StageOwner } from './stage-run.js';
import { consumerPlan, processBatcher } from './task-plan.js';
import type { ProcessBatcher } from './process-batcher.js';
import { EngineRun } from './engine-run.js';
import { type AdaptiveLimit, Downstream } from './flow-gates.js';
import { startGate } from './shared-rate-gate.js';
import {
  type Starter,
  waitingRoom,
  type TransactionKey,
  type WaitingRoom,
} from './waiting-room.js';

/**
 * The state machine behind {@link consume}: pulls from the connector only when it has free
 * capacity, keeps at most one fetch's worth of transactions waiting (plus, for a keyed task,
 * up to `loop.keyBacklog` waiting for their key), and owns every lifecycle it started (stop,
 * timeout and unsubscribe cancel and release them).
 *
 * Every event (a fetched transaction, a settled one, a timer, the stop signal) ends in
 * `pump()`, which is re-entrancy safe: a call made while pumping only asks for one more pass.
 */
export class ConsumeLoop<P, R>
  extends EngineRun<Outcome<P, R>>
  implements StageOwner<Transaction<P>>, PoolListener<P, R, TransactionKey>, Starter<P>
{
  private readonly pool: LifecyclePool<P, R, TransactionKey>;
  /** Forms the batches of a task with `processBatch`; `null` for one with `process`. */
  private readonly batcher: ProcessBatcher<P> | null;
  private readonly fetchProgress: FetchProgress;
  /** The span of the batch being processed (batch mode, tracing on). */
  private batchSpan: Span | null = null;
  private batchSize = 0;
  private readonly waiting: WaitingRoom<P>;
  /** `loop.concurrency.value`: the limit when it does not adapt. */
  private readonly fixedConcurrency: number;
  /** The adaptive limit of `loop.concurrency.adaptive`, or `null`. */
  private readonly adaptive: AdaptiveLimit | null;
  /** Most transactions held in all: in flight, ready, or waiting for their key. */
  private readonly capacity: number;
  private readonly fetchBatchSize: number;
  private fetchRun: StageRun<Transaction<P>> | null = null;
  private fetchSize = 0;
  private fetchReceived = 0;
  private fetched = 0;
  private emptyFetches = 0;
  private awaitingCompletion = false;
  private intervalDue = false;
  private pause: Subscription | null = null;
  /** Promise completions freed slots: whether to refill is decided once their burst is over. */
  private burstFreedSlots = false;
  private refillCheckQueued = false;
  private refillAtPhaseEndQueued = false;
  /** In continuous mode, free slots that justify a fetch before the event-loop phase ends. */
  private readonly refillLowWater: number;
  private loopTimer: Subscription | null = null;
  /** The pause while the downstream is rate limiting, and the circuit breaker. */
  private readonly downstream: Downstream;
  /** The breaker just opened: release what waits to start. */
  private breakerOpened = false;
  private graceTimer: Subscription | null = null;
  private stopSubscription: Subscription | null = null;
  /** No more fetching: drain what is in flight, then end. */
  private draining = false;
  /** A stop or loop timeout: nothing new starts; waiting transactions are released. */
  private stopping: ReleaseReason | null = null;

  constructor(
    private readonly connector: Connector<P>,
    private readonly task: ConsumerTask<P, R, unknown>,
    private readonly policy: ConsumerPolicy,
    clock: EngineClock,
    subscriber: Subscriber<Outcome<P, R>>,
    traces = true,
  ) {
    super(subscriber, clock, new RunTelemetry('consumer', task.name, connector, { traces }));
    this.fetchProgress = { received: () => this.fetchReceived, batch: () => this.batchSpan };
    this.downstream = new Downstream(clock.scheduler, task.logger, () => this.pump(), {
      breaker: policy.loop.circuitBreaker,
      paused: (delay) => this.telemetry.ratePaused(delay),
      changed: (state) => {
        this.telemetry.circuitChanged(state);
        if (state === 'open') {
          // What was fetched and not started goes back to the broker (next pass).
          this.breakerOpened = true;
          this.pump();
        }
      },
      concurrency: policy.loop.concurrency,
      inFlight: () => this.pool.inFlight,
      rate:
        policy.loop.rateLimit === null
          ? null
          : startGate(policy.loop.rateLimit, clock.scheduler, task.logger, () => this.pump()),
    });
    this.adaptive = this.downstream.adaptive;
    this.batcher = processBatcher(task, policy, clock, this.telemetry, this.downstream);
    this.pool = new LifecyclePool(
      consumerPlan(task, policy, { batcher: this.batcher, downstream: this.downstream }),
      clock,
      this.telemetry,
      connector,
      this,
    );
    const concurrency = policy.loop.concurrency;
    this.fixedConcurrency = concurrency.value;
    // Memory bounds are sized for the most the limit may reach.
    const most = this.adaptive === null ? concurrency.value : concurrency.max;
    this.waiting = waitingRoom(
      task.key,
      policy.loop.keyConcurrency.value,
      policy.loop.keyRateLimit === null
        ? null
        : { limit: policy.loop.keyRateLimit, scheduler: clock.scheduler, wake: () => this.pump() },
    );
    this.capacity =
      task.key === undefined ? most : most + (policy.loop.keyBacklog ?? 4 * concurrency.value);
    clock.prepare([policy.fetch.retry.timeout]);
    this.fetchBatchSize = policy.fetch.batch.size ?? concurrency.value;
    this.refillLowWater = Math.ceil(concurrency.value / 8);
    this.telemetry.metrics?.observeConcurrencyLimit(() => this.concurrency);
    // Flags that change once, as the source runs dry: ordinary fields from the start (see
    // EngineRun's constructor).
    this.draining = this.awaitingCompletion = true;
    this.draining = this.awaitingCompletion = false;
  }

  /** Most transactions in flight now. */
  private get concurrency(): number {
    return this.adaptive === null ? this.fixedConcurrency : this.adaptive.current;
  }

  run(stop$: Observable<unknown> | undefined): void {
    const timeout = this.policy.loop.timeout;
    if (timeout !== null) {
      this.loopTimer = timer(timeout, this.clock.scheduler).subscribe(() =>
        this.halt('loopTimeout', new LoopTimeoutError(timeout)),
      );
    }
    if (stop$ !== undefined) {
      // The holder exists before subscribing: a stop$ that emits on subscription (a
      // BehaviorSubject, `startWith`) stops the loop before `subscribe` returns, and its
      // subscription, added to the already closed holder, then ends at once.
      const holder = new Subscription();
      this.stopSubscription = holder;
      // A stop signal that fails still means "stop": stopping gracefully loses nothing.
      holder.add(
        stop$.subscribe({
          next: () => this.stop(),
          error: () => this.stop(),
        }),
      );
    }
    this.pump();
  }

  /** Graceful stop: no more fetching, drain within `loop.shutdownGrace`, then release the rest. */
  stop(): void {
    if (this.finished || this.stopping !== null) return;
    this.stopSubscription?.unsubscribe();
    this.halt('shutdown', null);
  }

  /** Hard stop (unsubscribe): cancel and release everything now. */
  protected cancel(): void {
    this.stopping = 'unsubscribe';
    this.fetchRun?.cancel(new CancellationError('unsubscribe'));
    this.fetchRun = null;
    this.releaseWaiting('unsubscribe');
    this.pool.cancelAll('unsubscribe');
  }

  // StageOwner of the fetch stage.

  invoke(): Observable<Transaction<P>> {
    const size = this.fetchSize - this.fetchReceived;
    if (size <= 0) return EMPTY;
    const fetched: unknown = this.connector.fetch({
      size,
      extra: this.policy.fetch.extra,
      transactionTimeout: this.policy.transactionRuntime.timeout,
    });
    if (!isObservable(fetched)) {
      throw new ConnectorContractError(
        `connector.fetch must return an Observable of transactions, got ${describeValue(fetched)}`,
      );
    }
    return fetched as Observable<Transaction<P>>;
  }

  received(run: StageRun<Transaction<P>>, transaction: Transaction<P>): void {
    if (typeof (transaction as Partial<Transaction> | null)?.id !== 'string') {
      this.broken(
        run,
        new ConnectorContractError(
          `connector.fetch emitted ${describeValue(transaction)}, not a transaction (see createTransaction)`,
        ),
      );
      return;
    }
    this.fetchReceived++;
    const limit = this.policy.loop.limit;
    if (limit !== null && this.fetched >= limit) {
      this.pool.release(transaction, 'overLimit');
      return;
    }
    this.fetched++;
    if (this.stopping !== null) {
      this.pool.release(transaction, this.stopping);
      return;
    }
    if (this.policy.loop.mode === 'batch' && this.telemetry.tracing) {
      if (this.batchSpan === null) this.batchSpan = this.telemetry.startBatch([transaction]);
      else this.telemetry.linkToBatch(this.batchSpan, transaction);
      this.batchSize++;
    }
    this.waiting.add(transaction);
    this.pump();
  }

  succeeded(run: StageRun<Transaction<P>>): void {
    if (run !== this.fetchRun) return;
    this.fetchRun = null;
    if (this.fetchReceived > 0) {
      this.telemetry.metrics?.batchFetched();
      this.emptyFetches = 0;
      this.intervalDue = this.policy.loop.mode === 'batch' && this.policy.fetch.batch.interval > 0;
    } else if (!this.policy.loop.streaming) {
      // Nothing more to fetch: finish once idle, or fetch again when a slot frees.
      if (this.pool.inFlight > 0 || this.waiting.length > 0) this.awaitingCompletion = true;
      else this.draining = true;
    } else {
      // Free slots keep polling with the empty backoff, whatever is in flight (a completion
      // in continuous mode also ends the wait: see `freed`).
      this.telemetry.metrics?.emptyWait();
      const delay = backoffDelay(this.policy.fetch.empty, this.emptyFetches++);
      this.pauseFor(delay);
    }
    this.pump();
  }

  failed(run: StageRun<Transaction<P>>, error: unknown): void {
    if (run !== this.fetchRun) return;
    this.fetchRun = null;
    this.failure = { error: new FetchError(error, isInstance(error, AttemptTimeoutError)) };
    this.draining = true;
    this.pump();
  }

  /** The connector broke its contract: stop fetching, drain what is valid, then fail. */
  private broken(run: StageRun<Transaction<P>>, error: ConnectorContractError): void {
    if (this.failure !== null) return;
    this.failure = { error };
    this.draining = true;
    run.cancel(error);
    if (run === this.fetchRun) this.fetchRun = null;
    this.pump();
  }

  // PoolListener.

  outcome(outcome: Outcome<P, R>, lifecycle: Lifecycle<P, R, TransactionKey> | null): void {
    if (lifecycle !== null) this.waiting.ended(lifecycle.attachment);
    // `freed()` pumps right after.
    this.emit(outcome);
  }

  freed(): void {
    this.awaitingCompletion = false;
    if (this.pause !== null && this.policy.loop.mode === 'continuous') {
      // In continuous mode a pause is an empty fetch's backoff: a freed slot fetches now.
      this.pause.unsubscribe();
      this.pause = null;
    }
    if (inPromiseReaction()) this.burstFreedSlots = true;
    this.pump();
  }

  protected step(): void {
    this.advance();
    // A partial batch goes now when nothing more can join it soon: no fetch under way (or no
    // free slot for what one would bring) and nobody ready to start in the next pass.
    if (
      this.batcher !== null &&
      !this.finished &&
      this.waiting.length === this.waiting.parked &&
      (this.fetchRun === null || this.pool.inFlight >= this.concurrency)
    ) {
      this.batcher.flush();
    }
  }

  private advance(): void {
    if (this.finished) return;
    if (this.breakerOpened) {
      this.breakerOpened = false;
      this.releaseWaiting('circuitOpen');
    }
    while (
      this.stopping === null &&
      this.pool.inFlight < this.concurrency &&
      this.downstream.allows(this.waiting.length > this.waiting.parked) &&
      this.waiting.startNext(this)
    ) {
      // started
    }
    if (this.fetchRun !== null || this.pause !== null || this.refillCheckQueued) return;
    if (this.batchSpan !== null && this.pool.inFlight === 0 && this.waiting.length === 0) {
      this.endBatch();
    }
    const limit = this.policy.loop.limit;
    if (limit !== null && this.fetched >= limit) this.draining = true;
    if (this.draining || this.stopping !== null) {
      if (this.pool.inFlight === 0 && this.waiting.length === 0) this.finish();
      return;
    }
    if (this.awaitingCompletion) return;
    // While the downstream rate limits, fetch nothing: the pause's end wakes the loop.
    if (!this.downstream.open()) return;
    const remaining = limit === null ? Infinity : limit - this.fetched;
    let size: number;
    if (this.policy.loop.mode === 'batch') {
      if (this.pool.inFlight > 0 || this.waiting.length > 0) return;
      if (this.intervalDue) {
        this.intervalDue = false;
        this.pauseFor(this.policy.fetch.batch.interval);
        return;
      }
      size = Math.min(this.fetchBatchSize, remaining);
      size = Math.min(size, this.rateRoom(size));
      if (size <= 0) return;
    } else {
      size = Math.min(this.freeToFetch(), remaining);
      if (size <= 0) return;
      if (this.burstFreedSlots) {
        this.refillCheckQueued = true;
        queueMicrotask(this.refillAfterBurst);
        return;
      }
    }
    this.fetchSize = size;
    this.fetchReceived = 0;
    const run = new StageRun<Transaction<P>>(
      this.clock,
      this.policy.fetch.retry,
      'fetch',
      this.task,
      this,
      this.telemetry.enabled ? new FetchTelemetry(this.telemetry, this.fetchProgress) : null,
    );
    this.fetchRun = run;
    run.start();
  }

  /**
   * After a burst of promise completions (one microtask checkpoint): refills at once when the
   * free slots reach the low-water mark (an eighth of the concurrency, or all that remains to
   * fetch), else at the end of this event-loop phase. Completions that arrive one per callback
   * (timers, replies read one per socket read) thus share a fetch per low-water mark's worth
   * instead of one fetch each, and no slot stays free longer than that many completions take.
   */
  private readonly refillAfterBurst = (): void => {
    this.refillCheckQueued = false;
    const limit = this.policy.loop.limit;
    const remaining = limit === null ? Infinity : limit - this.fetched;
    const free = this.freeToFetch();
    if (free >= Math.min(this.refillLowWater, remaining)) {
      this.burstFreedSlots = false;
      this.pump();
    } else if (!this.refillAtPhaseEndQueued) {
      this.refillAtPhaseEndQueued = true;
      setImmediate(this.refillAtPhaseEnd);
    }
  };

  private readonly refillAtPhaseEnd = (): void => {
    this.refillAtPhaseEndQueued = false;
    this.burstFreedSlots = false;
    this.pump();
  };

  /** Starter of the waiting room. */
  startOne(
    transaction: Transaction<P>,
    key: TransactionKey,
    failure: TransactionError | null,
  ): void {
    this.pool.start(transaction, this.batchSpan, key, failure);
  }

  /**
   * How many more `loop.rateLimit` lets the loop fetch (what it may start within an interval);
   * `wanted`: what the loop could fetch otherwise.
   */
  private rateRoom(wanted: number): number {
    return this.downstream.room(this.waiting.length - this.waiting.parked, wanted);
  }

  /**
   * How many transactions a fetch may bring now: the free slots not claimed by transactions
   * ready to start, within the capacity (slots plus the key backlog) left by everything held.
   */
  private freeToFetch(): number {
    const held = this.pool.inFlight + this.waiting.length;
    const ready = this.waiting.length - this.waiting.parked;
    const free = Math.min(this.concurrency - this.pool.inFlight - ready, this.capacity - held);
    return Math.min(free, this.rateRoom(free));
  }

  /** Waits before the next fetch; a zero delay still yields to the event loop (no busy poll). */
  private pauseFor(delay: number): void {
    this.pause = timer(delay, this.clock.scheduler).subscribe(() => {
      this.pause = null;
      this.pump();
    });
  }

  /** Stops intake for `reason`; a loop timeout also cancels in-flight work at once. */
  private halt(reason: 'shutdown' | 'loopTimeout', failure: Error | null): void {
    if (this.finished) return;
    this.stopping = reason;
    if (failure !== null) this.failure ??= { error: failure };
    this.fetchRun?.cancel(new CancellationError(reason));
    this.fetchRun = null;
    this.pause?.unsubscribe();
    this.pause = null;
    this.releaseWaiting(reason);
    if (reason === 'loopTimeout') {
      this.pool.cancelAll(reason);
    } else if (this.pool.inFlight > 0 && this.graceTimer === null) {
      this.graceTimer = timer(this.policy.loop.shutdownGrace, this.clock.scheduler).subscribe(() =>
        this.pool.cancelAll('shutdown'),
      );
    }
    this.pump();
  }

  /**
   * Releases everything that waits to start. Passes are held meanwhile: with nothing in flight,
   * the first release's outcome would otherwise let a pass finish the run before the others
   * were released (their outcomes lost, though they were settled).
   */
  private releaseWaiting(reason: ReleaseReason): void {
    const waiting = this.waiting.drain();
    this.held(() => {
      for (const transaction of waiting) this.pool.release(transaction, reason);
    });
  }

  private endBatch(): void {
    const span = this.batchSpan as Span;
    span.setAttribute('messaging.batch.message_count', this.batchSize);
    span.end();
    this.batchSpan = null;
    this.batchSize = 0;
  }

  protected override dispose(): void {
    this.disposeTimers();
    this.batcher?.dispose();
    this.waiting.dispose();
    super.dispose();
    if (this.batchSpan !== null) this.endBatch();
  }

  private disposeTimers(): void {
    // Unsubscribed and left in their fields (a finished run starts nothing): storing into a
    // field that never changed during the run, even the same `null`, makes V8 drop the
    // optimized code that read it (`pause`: the whole loop; see EngineRun's constructor).
    this.stopSubscription?.unsubscribe();
    this.loopTimer?.unsubscribe();
    this.graceTimer?.unsubscribe();
    this.pause?.unsubscribe();
    this.downstream.dispose();
  }
}
