import { randomUUID } from 'node:crypto';
import { asyncScheduler, defer, Observable, of, type SchedulerLike } from 'rxjs';
import { decodeFailureOf, markUndecodable, type Transaction } from '../../core/transaction.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import type { SettleDecision } from '../../core/outcome.js';
import { ConnectorClosedError, SettlementError, TransactionError } from '../../core/errors.js';
import {
  deadLetterMatches,
  deadLetterQuery,
  redriveOfKey,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from '../../core/dead-letters.js';
import { describeError } from '../../core/renderers.js';
import { deliveryCountOf, notBeforeOf } from '../../core/delivery-schedule.js';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { traceHeaders } from '../../core/trace-headers.js';
import { MemoryTransaction, type LeaseLedger } from './memory-transaction.js';

/** One recorded settlement of a {@link MemoryConnector}. */
export interface MemorySettlement<P> {
  readonly transaction: Transaction<P>;
  readonly decision: SettleDecision;
}

export interface MemoryConnectorOptions<P> {
  /** Payloads to serve, read lazily: a generator of millions costs no memory. */
  readonly source?: Iterable<P>;
  /**
   * Keep every settlement in `settlements` and every dispatched transaction in `dispatched`
   * (default `false`: a connector fed for days would keep them all). `counts` and
   * `dispatchCount` are kept regardless; turn this on in tests that look at each settlement.
   */
  readonly record?: boolean;
  /**
   * Called with each dispatched batch before it is accepted (`call` counts from 1): throw to
   * fail the whole batch, return a {@link DispatchReport} to fail some of its transactions.
   */
  readonly onDispatch?: (
    batch: readonly Transaction<P>[],
    call: number,
  ) => DispatchReport<P> | undefined;
  /** Put released transactions back at the front of the queue, like a broker (default `true`). */
  readonly redeliverReleased?: boolean;
  /**
   * Prefix of generated ids, followed by a sequence number. The default, `tx-<16 random hex
   * digits>-`, is new for every connector, so ids never repeat across runs (a broker that
   * drops a second transaction with a known id loses nothing when they are piped into it);
   * give a fixed prefix (`'tx-'`) for ids you can predict, as tests do.
   */
  readonly idPrefix?: string;
  /**
   * The clock of delayed releases (`RetryLaterError`) and of `metadata.notBefore`: the same
   * scheduler as the consuming loop's (a `TestScheduler` in virtual-time tests). Default
   * `asyncScheduler`. Only `now()` is read: the connector sets no timer, a held-back
   * transaction is handed out by the first fetch at or after its time.
   */
  readonly scheduler?: SchedulerLike;
}

/** A transaction held back until `due` (a delayed release, or a future `notBefore`). */
interface HeldBack<P> {
  readonly due: number;
  readonly transaction: MemoryTransaction<P>;
}

/**
 * The embedded default connector: an in-process queue of transactions. Seed it with any
 * iterable of payloads, feed it while a loop runs, and read back how many transactions were
 * settled each way (`counts`: `ack`, `deadLetter`, `release`); with `record: true` it also
 * keeps each settlement. Released transactions are redelivered, as a broker would. Memory
 * stays flat however long it runs: it holds only what waits and what is in flight.
 *
 * @example
 * ```ts
 * const connector = new MemoryConnector({ source: [{ n: 1 }, { n: 2 }] });
 * await lastValueFrom(consume(connector, task, { loop: { concurrency: { value: 4 } } }).pipe(toArray()));
 * connector.counts; // { ack: 2, deadLetter: 0, release: 0 }
 * ```
 */
export class MemoryConnector<P = unknown> implements Connector<P> {
  readonly system = 'memory';
  /**
   * Delayed releases and `notBefore` are kept in memory on `options.scheduler` (they do not
   * outlive the process, as nothing of this connector does); priority is not honoured.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: true,
    priority: false,
  });
  /** Every dispatched transaction that was accepted, in order (empty when `record` is `false`). */
  readonly dispatched: Transaction<P>[] = [];
  /** How many times `dispatch` was called. */
  dispatchCount = 0;
  /** Every settlement in order (empty when `record` is `false`). */
  readonly settlements: MemorySettlement<P>[] = [];
  /** Settlements by decision. */
  readonly counts = { ack: 0, deadLetter: 0, release: 0 };
  /** How many times `fetch` was subscribed. */
  fetchCount = 0;

  /** Dead-lettered transactions with their dead letters, oldest first (see `deadLetters()`). */
  private readonly dead: { letter: DeadLetter<P>; transaction: Transaction<P> }[] = [];
  private deadSequence = 0;

  /** Released (and, on close, unsettled) transactions, served first, in release order. */
  private readonly redelivery = new FifoQueue<MemoryTransaction<P>>();
  /** Fed and enqueued transactions, served after the seed source. */
  private readonly queue = new FifoQueue<MemoryTransaction<P>>();
  private readonly ledger: LeaseLedger<P> = { first: null, size: 0 };
  /** Held back until their time, soonest first (ties in the order they were held). */
  private readonly heldBack: HeldBack<P>[] = [];
  private readonly scheduler: SchedulerLike;
  private iterator: Iterator<P> | undefined;
  private sequence = 0;
  private closed = false;
  private readonly record: boolean;
  private readonly onDispatch: MemoryConnectorOptions<P>['onDispatch'];
  private readonly redeliver: boolean;
  private readonly idPrefix: string;

  constructor(options: MemoryConnectorOptions<P> = {}) {
    this.iterator = options.source?.[Symbol.iterator]();
    this.record = options.record ?? false;
    this.onDispatch = options.onDispatch;
    this.redeliver = options.redeliverReleased ?? true;
    this.idPrefix = options.idPrefix ?? `tx-${randomUUID().replaceAll('-', '').slice(0, 16)}-`;
    this.scheduler = options.scheduler ?? asyncScheduler;
  }

  /** Transactions held back for a delay or a `notBefore` that has not come yet. */
  get delayed(): number {
    return this.heldBack.length;
  }

  /**
   * Adds payloads behind everything already queued, the rest of the seed source included;
   * returns the transactions made for them.
   */
  feed(...payloads: P[]): Transaction<P>[] {
    return payloads.map((payload) => {
      const transaction = this.wrap(payload);
      this.queue.push(transaction);
      return transaction;
    });
  }

  /**
   * Adds copies of ready-made transactions (same id, payload, metadata and decode failure)
   * behind everything already queued; returns the copies, which are what `fetch` will emit.
   */
  enqueue(...transactions: Transaction<P>[]): Transaction<P>[] {
    return transactions.map((transaction) => {
      const copy = new MemoryTransaction(transaction.id, transaction.payload, transaction.metadata);
      const decodeFailure = decodeFailureOf(transaction);
      if (decodeFailure !== undefined) markUndecodable(copy, decodeFailure);
      this.queue.push(copy);
      return copy;
    });
  }

  /**
   * Accepts a batch like a broker would: each transaction (with the current trace context in
   * its metadata) is queued behind everything else, so a consumer of this connector fetches
   * it. `onDispatch` can fail the batch or part of it; failed transactions are not queued.
   * A batch whose `signal` already aborted is not taken (throws `signal.reason`). A
   * transaction with a future `metadata.notBefore` is held back until then (an invalid one
   * fails that transaction with a `ScheduleError`).
   */
  dispatch(transactions: readonly Transaction<P>[], context?: DispatchContext): DispatchReport<P> {
    if (this.closed) throw new ConnectorClosedError('memory connector is closed');
    context?.signal.throwIfAborted();
    const call = ++this.dispatchCount;
    const given = this.onDispatch?.(transactions, call) ?? { failed: [] };
    const failures = [...given.failed];
    const failed = new Set(failures.map((failure) => failure.transaction));
    for (const transaction of transactions) {
      if (failed.has(transaction)) continue;
      let notBefore: number | undefined;
      try {
        notBefore = notBeforeOf(transaction);
      } catch (error) {
        failures.push({ transaction, error });
        continue;
      }
      const headers = traceHeaders(transaction);
      const metadata =
        headers['traceparent'] === transaction.metadata['traceparent'] &&
        headers['tracestate'] === transaction.metadata['tracestate']
          ? transaction.metadata
          : Object.freeze({ ...transaction.metadata, ...headers });
      const copy = new MemoryTransaction(transaction.id, transaction.payload, metadata);
      const decodeFailure = decodeFailureOf(transaction);
      if (decodeFailure !== undefined) markUndecodable(copy, decodeFailure);
      if (notBefore !== undefined && notBefore > this.scheduler.now())
        this.holdBack(copy, notBefore);
      else this.queue.push(copy);
      if (this.record) this.dispatched.push(transaction);
    }
    return failures.length === given.failed.length ? given : { failed: failures };
  }

  /** Transactions fetched and not settled yet. */
  get unsettled(): number {
    return this.ledger.size;
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      this.fetchCount++;
      if (this.closed) {
        subscriber.error(new ConnectorClosedError('memory connector is closed'));
        return;
      }
      this.releaseDue();
      for (let n = 0; n < request.size && !subscriber.closed; n++) {
        const transaction = this.next();
        if (transaction === undefined) break;
        MemoryTransaction.lease(this.ledger, transaction);
        subscriber.next(transaction);
      }
      subscriber.complete();
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): void {
    if (!MemoryTransaction.release(this.ledger, transaction)) {
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from this connector`,
      );
    }
    this.counts[decision.type]++;
    if (this.record) this.settlements.push({ transaction, decision });
    if (decision.type === 'deadLetter') this.bury(transaction, decision.error);
    if (decision.type !== 'release' || !this.redeliver) return;
    const delay = decision.delay ?? 0;
    if (delay > 0) {
      // Delivered again after the delay, as a new delivery (its count goes on).
      const metadata = Object.freeze({
        ...transaction.metadata,
        deliveryCount: deliveryCountOf(transaction) + 1,
      });
      const copy = new MemoryTransaction(transaction.id, transaction.payload, metadata);
      const decodeFailure = decodeFailureOf(transaction);
      if (decodeFailure !== undefined) markUndecodable(copy, decodeFailure);
      this.holdBack(copy, this.scheduler.now() + delay);
    } else {
      this.redelivery.push(transaction);
    }
  }

  /**
   * The dead-lettered transactions (kept until purged or redriven, whatever `record` says).
   * `redrive` puts a copy at the back of the queue with the same id, payload and trace
   * context and `ergon-redrive-of` in its metadata; everything runs synchronously, so two
   * redrives can never take the same dead letter.
   */
  deadLetters(): DeadLetters<P> {
    type Entry = (typeof this.dead)[number];
    const select = (query?: DeadLetterQuery): Set<Entry> => {
      const checked = deadLetterQuery(query);
      const chosen = new Set<Entry>();
      for (const entry of this.dead) {
        if (checked.limit !== undefined && chosen.size >= checked.limit) break;
        if (deadLetterMatches(entry.letter, checked)) chosen.add(entry);
      }
      return chosen;
    };
    const take = (query?: DeadLetterQuery): Entry[] => {
      const chosen = select(query);
      const kept = this.dead.filter((entry) => !chosen.has(entry));
      this.dead.splice(0, this.dead.length, ...kept);
      return [...chosen];
    };
    return {
      list: (query) => Promise.resolve([...select(query)].map((entry) => entry.letter)),
      show: (id) =>
        Promise.resolve([...this.dead].reverse().find((entry) => entry.letter.id === id)?.letter),
      redrive: (query): Promise<RedriveReport> => {
        if (this.closed) {
          return Promise.reject(new ConnectorClosedError('memory connector is closed'));
        }
        const redriven = take(query).map(({ letter, transaction }) => {
          const metadata = Object.freeze({
            ...transaction.metadata,
            [redriveOfKey]: letter.location,
          });
          this.queue.push(new MemoryTransaction(transaction.id, transaction.payload, metadata));
          return transaction.id;
        });
        return Promise.resolve({ redriven, skipped: [] });
      },
      purge: (query): Promise<PurgeReport> =>
        Promise.resolve({ purged: take(query).map((entry) => entry.transaction.id) }),
    };
  }

  /**
   * How many transactions wait, held-back ones included; reads the rest of a lazy source into
   * memory to count it.
   */
  count(): Observable<number> {
    return defer(() => {
      this.readSourceToQueue();
      return of(this.redelivery.length + this.queue.length + this.heldBack.length);
    });
  }

  /** Finds a transaction among queued and fetched-but-unsettled ones. */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(() => {
      this.readSourceToQueue();
      const byId = (transaction: Transaction<P>): boolean => transaction.id === id;
      const queued =
        this.redelivery.find(byId) ??
        this.queue.find(byId) ??
        this.heldBack.find((held) => byId(held.transaction))?.transaction;
      if (queued !== undefined) return of(queued);
      for (const transaction of MemoryTransaction.leased(this.ledger)) {
        if (transaction.id === id) return of(transaction);
      }
      return of(undefined);
    });
  }

  health(): Observable<ConnectorHealth> {
    return defer(() => of({ healthy: !this.closed, state: this.closed ? 'closed' : 'open' }));
  }

  /** Closes the connector; unsettled transactions go back to be redelivered, oldest first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const transaction of [...MemoryTransaction.leased(this.ledger)].reverse()) {
      MemoryTransaction.release(this.ledger, transaction);
      this.redelivery.push(transaction);
    }
  }

  private bury(transaction: Transaction<P>, error: TransactionError): void {
    const traceparent = transaction.metadata['traceparent'];
    const letter: DeadLetter<P> = Object.freeze({
      id: transaction.id,
      payload: transaction.payload,
      error: describeError(error),
      ...(error instanceof TransactionError && error.stage !== undefined
        ? { stage: error.stage }
        : {}),
      ...(error instanceof TransactionError ? { category: error.category } : {}),
      reason: 'failed',
      deadLetteredAt: new Date(),
      deliveryCount: deliveryCountOf(transaction),
      ...(typeof traceparent === 'string' ? { traceparent } : {}),
      location: `memory#${++this.deadSequence}`,
    });
    this.dead.push({ letter, transaction });
  }

  /** Holds `transaction` back until `due`, after everything due earlier or at the same time. */
  private holdBack(transaction: MemoryTransaction<P>, due: number): void {
    const held = { due, transaction };
    let low = 0;
    let high = this.heldBack.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.heldBack[middle] as HeldBack<P>).due <= due) low = middle + 1;
      else high = middle;
    }
    this.heldBack.splice(low, 0, held);
  }

  /** Moves what is due to the redeliveries, in time order. */
  private releaseDue(): void {
    if (this.heldBack.length === 0) return;
    const now = this.scheduler.now();
    let due = 0;
    while (due < this.heldBack.length && (this.heldBack[due] as HeldBack<P>).due <= now) due++;
    for (const held of this.heldBack.splice(0, due)) this.redelivery.push(held.transaction);
  }

  /** Redeliveries first (due held-back ones among them), then the seed source, then what was fed. */
  private next(): MemoryTransaction<P> | undefined {
    const redelivered = this.redelivery.shift();
    if (redelivered !== undefined) return redelivered;
    if (this.iterator !== undefined) {
      const step = this.iterator.next();
      if (step.done !== true) return this.wrap(step.value);
      this.iterator = undefined;
    }
    return this.queue.shift();
  }

  private readSourceToQueue(): void {
    if (this.iterator === undefined) return;
    const fed = this.queue.drain();
    for (let step = this.iterator.next(); step.done !== true; step = this.iterator.next()) {
      this.queue.push(this.wrap(step.value));
    }
    this.iterator = undefined;
    for (const transaction of fed) this.queue.push(transaction);
  }

  private wrap(payload: P): MemoryTransaction<P> {
    return new MemoryTransaction(`${this.idPrefix}${++this.sequence}`, payload);
  }
}
