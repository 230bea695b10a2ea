import { trace, type Context } from '@opentelemetry/api';
import log from 'loglevel';
import { timer, type Subscription } from 'rxjs';
import { type CancellationError, ConnectorContractError } from '../../core/errors.js';
import type {
  Connector,
  DispatchFailure,
  DispatchReceipt,
  DispatchReport,
  Eventually,
} from '../../core/connector.js';
import type { FifoQueue } from '../../core/fifo-queue.js';
import type { Transaction } from '../../core/transaction.js';
import { rememberCreationContext } from '../../core/trace-headers.js';
import type { DispatchOptions } from '../../policy/dispatch-options.js';
import type { EngineClock } from './engine-clock.js';
import type { AttemptContext, HandlerScope } from '../handler-context.js';
import { DispatchTelemetry } from './instrumentation/stage-telemetry.js';
import type { RunTelemetry } from './instrumentation/run-telemetry.js';
import { StageRun, type StageOwner } from './stage-run.js';
import { Trampoline } from './engine-run.js';
import { RateSchedule } from './flow-gates.js';
import { describeValue } from '../../core/renderers.js';

/** Hears what became of one transaction handed to a {@link BatchDispatcher}. */
export interface DispatchWaiter<P> {
  dispatched(transaction: Transaction<P>): void;
  failed(transaction: Transaction<P>, error: unknown): void;
}

/** Hears about whole batches and free space. */
export interface DispatcherListener<P> {
  /** A batch was dispatched (or failed for good). */
  receipt(receipt: DispatchReceipt<P>): void;
  /** The dispatcher can take transactions again. */
  space(): void;
}

/** A transaction waiting for room in the forming batch (see {@link BatchDispatcher.admit}). */
export interface Offer<P> {
  readonly transaction: Transaction<P>;
  readonly waiter: DispatchWaiter<P> | null;
  /** The context the transaction was created in (telemetry on), or `null`. */
  readonly created: Context | null;
}

interface Entry<P> {
  readonly transaction: Transaction<P>;
  readonly waiter: DispatchWaiter<P> | null;
  /** The context the transaction was created in (telemetry on), or `null`. */
  readonly context: Context | null;
}

const dispatchScope: HandlerScope<undefined> = {
  services: undefined,
  logger: log.getLogger('ergon.dispatch'),
};

/**
 * Groups transactions into batches of `batch` (or whatever arrived within `maxWait`) and
 * sends them with `connector.dispatch`, at most `concurrency` batches at once, each under
 * the `retry` policy. It holds at most one forming batch besides those being sent: when that
 * one is full and no slot is free, {@link hasSpace} is `false` and the caller waits for
 * `listener.space()`. A batch keeps its slot until its last attempt really ended: a timed
 * out or cancelled attempt is aborted through its signal and waited for (see
 * `StageOwner.awaitsAbortedAttempts`).
 */
export class BatchDispatcher<P> {
  private forming: Entry<P>[] = [];
  private wait: Subscription | null = null;
  private overdue = false;
  private draining = false;
  /** `cancelAll` was called: nothing is sent any more. */
  private cancelled = false;
  /** Flushes safely under re-entrancy: synchronous sends never deepen the stack per batch. */
  private readonly flusher = new Trampoline({ pass: () => this.flushReady() });
  private readonly sending = new Set<BatchSend<P>>();
  /** `rateLimit` of the options: permits per transaction sent, or `null`. */
  private readonly rate: RateSchedule | null;
  /** Brings the dispatcher back when the rate limit has permits again. */
  private rateWait: Subscription | null = null;

  constructor(
    private readonly connector: Connector<P>,
    private readonly options: DispatchOptions,
    private readonly clock: EngineClock,
    private readonly listener: DispatcherListener<P>,
    private readonly telemetry: RunTelemetry,
  ) {
    this.rate = options.rateLimit === null ? null : new RateSchedule(options.rateLimit);
  }

  /** Nothing forming and nothing being sent. */
  get idle(): boolean {
    return this.forming.length === 0 && this.sending.size === 0;
  }

  hasSpace(): boolean {
    return this.forming.length < this.options.batch;
  }

  /** How many transactions the forming batch can still take. */
  get room(): number {
    return this.options.batch - this.forming.length;
  }

  /** Adds a transaction to the forming batch; `created` is its creation context (telemetry). */
  offer(
    transaction: Transaction<P>,
    waiter: DispatchWaiter<P> | null,
    created: Context | null = null,
  ): void {
    this.add(transaction, waiter, created);
    this.flush();
  }

  /**
   * Moves transactions from `queue` into the forming batch while it has room, dropping those
   * `skip` rejects (a withdrawn send), then flushes once (so `maxWait: 0` still sends them
   * together).
   */
  admit<E extends Offer<P>>(queue: FifoQueue<E>, skip?: (entry: E) => boolean): void {
    let room = this.room;
    let added = false;
    while (queue.length > 0 && room > 0) {
      const next = queue.shift() as E;
      if (skip?.(next) === true) continue;
      this.add(next.transaction, next.waiter, next.created);
      room--;
      added = true;
    }
    if (added) this.flush();
  }

  /** Takes back a transaction that is still forming; `false` once it is being sent. */
  withdraw(transaction: Transaction<P>): boolean {
    const index = this.forming.findIndex((entry) => entry.transaction === transaction);
    if (index < 0) return false;
    this.forming.splice(index, 1);
    if (this.forming.length === 0) {
      this.disarmWait();
      this.overdue = false;
    }
    return true;
  }

  /** No more input is coming: send partial batches without waiting. */
  drain(): void {
    this.draining = true;
    this.flush();
  }

  /**
   * Stops everything: forming transactions are dropped (their waiters are not told), and
   * every batch being sent is aborted through its signal; each still reports how it really
   * ended (its waiters hear `failed` with `reason`, or `dispatched` when the destination took
   * it anyway), and keeps its slot until then.
   */
  cancelAll(reason: CancellationError): void {
    this.cancelled = true;
    this.disarmWait();
    this.rateWait?.unsubscribe();
    this.rateWait = null;
    this.forming = [];
    for (const send of [...this.sending]) send.cancel(reason);
  }

  /** Called by a finished {@link BatchSend}. */
  finished(send: BatchSend<P>, receipt: DispatchReceipt<P>): void {
    if (!this.sending.delete(send)) return;
    this.listener.receipt(receipt);
    this.flush();
    this.listener.space();
  }

  private add(
    transaction: Transaction<P>,
    waiter: DispatchWaiter<P> | null,
    created: Context | null,
  ): void {
    // After cancelAll nothing is sent: what is still offered (by a run being torn down) is
    // dropped, so no maxWait timer is armed for it either.
    if (this.cancelled) return;
    this.forming.push({ transaction, waiter, context: created });
    if (this.forming.length === 1 && this.options.maxWait > 0) this.armWait();
  }

  /**
   * Sends what is ready. Re-entrancy safe: a send that completes synchronously calls back
   * into `flush` (through `finished` and the listener), which then only asks for another
   * pass, so a long queue of synchronous dispatches never deepens the stack.
   */
  private flush(): void {
    this.flusher.run();
  }

  private flushReady(): void {
    while (
      !this.cancelled &&
      this.forming.length > 0 &&
      this.sending.size < this.options.concurrency &&
      (this.forming.length >= this.options.batch ||
        this.overdue ||
        this.draining ||
        this.options.maxWait === 0)
    ) {
      const size = this.permitted(Math.min(this.options.batch, this.forming.length));
      if (size === 0) break;
      const batch = this.forming.splice(0, size);
      this.overdue = false;
      this.disarmWait();
      if (this.forming.length > 0 && this.options.maxWait > 0) this.armWait();
      const send = new BatchSend(this, batch);
      this.sending.add(send);
      send.start(this.clock, this.options, this.connector, this.telemetry);
    }
  }

  /**
   * How many of `wanted` transactions the rate limit lets go now (taking their permits); when
   * none, the dispatcher comes back when the next permit is due.
   */
  private permitted(wanted: number): number {
    const rate = this.rate;
    if (rate === null) return wanted;
    const now = this.clock.scheduler.now();
    const size = Math.min(wanted, rate.availableNow(now));
    for (let taken = 0; taken < size; taken++) rate.take(now);
    if (size === 0 && this.rateWait === null) {
      this.rateWait = timer(Math.ceil(rate.nextAt(now)) - now, this.clock.scheduler).subscribe(
        () => {
          this.rateWait = null;
          this.flush();
        },
      );
    }
    return size;
  }

  private armWait(): void {
    this.disarmWait();
    this.wait = timer(this.options.maxWait, this.clock.scheduler).subscribe(() => {
      this.wait = null;
      this.overdue = true;
      this.flush();
    });
  }

  private disarmWait(): void {
    this.wait?.unsubscribe();
    this.wait = null;
  }
}

/** One batch on its way: the `dispatch` stage with its retries. */
class BatchSend<P> implements StageOwner<DispatchReport<P> | void> {
  readonly awaitsAbortedAttempts = true;
  private run: StageRun<DispatchReport<P> | void> | null = null;
  private connector: Connector<P> | null = null;
  private readonly transactions: Transaction<P>[];

  constructor(
    private readonly dispatcher: BatchDispatcher<P>,
    private readonly entries: Entry<P>[],
  ) {
    this.transactions = entries.map((entry) => entry.transaction);
  }

  start(
    clock: EngineClock,
    options: DispatchOptions,
    connector: Connector<P>,
    telemetry: RunTelemetry,
  ): void {
    this.connector = connector;
    let observer: DispatchTelemetry | null = null;
    if (telemetry.enabled) {
      const contexts = this.entries.map((entry) => entry.context);
      if (telemetry.tracing) {
        for (const entry of this.entries) {
          if (entry.context !== null && trace.getSpanContext(entry.context) !== undefined) {
            rememberCreationContext(entry.transaction, entry.context);
          }
        }
      }
      observer = new DispatchTelemetry(telemetry, contexts, this.entries.length);
    }
    this.run = new StageRun(clock, options.retry, 'dispatch', dispatchScope, this, observer);
    this.run.start();
  }

  cancel(reason: CancellationError): void {
    this.run?.cancel(reason);
  }

  invoke(context: AttemptContext): Eventually<DispatchReport<P> | void> {
    const connector = this.connector as Connector<P>;
    // The attempt's context is a DispatchContext: its AbortController is made only when the
    // connector reads `signal`.
    return (connector.dispatch as NonNullable<Connector<P>['dispatch']>)(
      this.transactions,
      context,
    );
  }

  succeeded(run: StageRun<DispatchReport<P> | void>, report: DispatchReport<P> | void): void {
    let failures: Map<Transaction<P>, unknown>;
    try {
      failures = readDispatchReport(report, this.transactions);
    } catch (error) {
      this.failed(run, error);
      return;
    }
    const failed: DispatchFailure<P>[] = [];
    for (const { transaction, waiter } of this.entries) {
      if (failures.has(transaction)) {
        const error = failures.get(transaction);
        failed.push({ transaction, error });
        waiter?.failed(transaction, error);
      } else {
        waiter?.dispatched(transaction);
      }
    }
    this.dispatcher.finished(this, {
      transactions: this.transactions,
      failed,
      attempts: run.attempts,
    });
  }

  failed(run: StageRun<DispatchReport<P> | void>, error: unknown): void {
    const failed = this.entries.map(({ transaction, waiter }) => {
      waiter?.failed(transaction, error);
      return { transaction, error };
    });
    this.dispatcher.finished(this, {
      transactions: this.transactions,
      failed,
      error,
      attempts: run.attempts,
    });
  }
}

/**
 * Reads what `connector.dispatch` resolved with: `undefined`, `null` or a report whose
 * `failed` (absent or an array) names transactions of the batch, by identity or, for
 * connectors that report copies, by id. Returns the error of each failed transaction of
 * `batch` (one entry per failure, so a failure reported for one transaction does not fail
 * another with the same id). Throws a {@link ConnectorContractError} naming the problem for
 * anything else: a report that is not an object, a `failed` that is not an array, an entry
 * that is not `{ transaction, error }`, or one naming a transaction the batch does not hold.
 */
function readDispatchReport<P>(
  report: unknown,
  batch: readonly Transaction<P>[],
): Map<Transaction<P>, unknown> {
  const failures = new Map<Transaction<P>, unknown>();
  if (report === undefined || report === null) return failures;
  if (typeof report !== 'object') throw contractBroken(`it resolved with ${describeValue(report)}`);
  const failed = (report as { readonly failed?: unknown }).failed;
  if (failed === undefined) return failures;
  if (!Array.isArray(failed)) {
    throw contractBroken(`its report's failed is ${describeValue(failed)}, not an array`);
  }
  if (failed.length === 0) return failures;
  const inBatch = new Set<unknown>(batch);
  const byId = new Map<string, Transaction<P>[]>();
  for (const transaction of batch) {
    const same = byId.get(transaction.id);
    if (same === undefined) byId.set(transaction.id, [transaction]);
    else same.push(transaction);
  }
  failed.forEach((entry: unknown, index) => {
    const transaction =
      typeof entry === 'object' && entry !== null
        ? (entry as { readonly transaction?: unknown }).transaction
        : undefined;
    if (
      typeof transaction !== 'object' ||
      transaction === null ||
      typeof (transaction as { readonly id?: unknown }).id !== 'string'
    ) {
      throw contractBroken(
        `its report's failed[${index}] is ${describeValue(entry)}, not { transaction, error } with a transaction of the batch`,
      );
    }
    const error = (entry as { readonly error?: unknown }).error;
    if (inBatch.has(transaction) && !failures.has(transaction as Transaction<P>)) {
      failures.set(transaction as Transaction<P>, error);
      return;
    }
    const id = (transaction as Transaction<P>).id;
    const candidate = byId.get(id)?.find((same) => !failures.has(same));
    if (candidate === undefined) {
      throw contractBroken(
        `its report's failed[${index}] names transaction ${JSON.stringify(id)}, which is not in the batch (or is named twice)`,
      );
    }
    failures.set(candidate, error);
  });
  return failures;
}

function contractBroken(problem: string): ConnectorContractError {
  return new ConnectorContractError(
    `connector.dispatch broke its contract: ${problem}; resolve with nothing or with { failed: [{ transaction, error }] } naming transactions of the batch`,
  );
}

/** Fails fast when a connector cannot dispatch. */
export function requireDispatch(connector: unknown, caller: string): void {
  if (typeof (connector as Partial<Connector> | null)?.dispatch !== 'function') {
    throw new ConnectorContractError(
      `${caller} needs a connector with a dispatch(transactions) method`,
    );
  }
}
