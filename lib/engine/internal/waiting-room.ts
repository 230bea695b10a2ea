import { TransactionError } from '../../core/errors.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import { describeValue, describeError } from '../../core/renderers.js';
import type { Transaction } from '../../core/transaction.js';
import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { RateLimit } from '../../policy/policy-sections.js';
import { RateSchedule } from './flow-gates.js';
import { objectArray } from '../../core/object-array.js';

/** A transaction's key as the run keeps it: `undefined` for none. */
export type TransactionKey = string | undefined;

/**
 * The run a waiting room starts transactions for (a method on the run rather than a closure
 * per run: optimized code that calls it stays valid for the next run).
 */
export interface Starter<P> {
  /**
   * Starts one transaction: `key` is its key (kept as the lifecycle's attachment, handed back
   * to {@link WaitingRoom.ended}); `failure` is set when the key could not be computed, and
   * the lifecycle then fails at once with it.
   */
  startOne(
    transaction: Transaction<P>,
    key: TransactionKey,
    failure: TransactionError | null,
  ): void;
}

/**
 * The transactions a run took in (fetched, or pushed by a source) and has not started yet,
 * and the rule that says which may start next. A run asks it for the next one while it has a
 * free slot, and tells it when a started one ended (settlement included).
 */
export interface WaitingRoom<P> {
  /** Transactions held, ready or waiting for their key. */
  readonly length: number;
  /** Of those, how many wait for their key: they hold no slot (see `loop.keyBacklog`). */
  readonly parked: number;
  add(transaction: Transaction<P>): void;
  /** Starts the next transaction allowed to start; `false` when none is. */
  startNext(starter: Starter<P>): boolean;
  /** A started transaction's lifecycle and settlement are over. */
  ended(key: TransactionKey): void;
  /** Takes out everything held, in the order it came in (to release it). */
  drain(): Transaction<P>[];
  /** Stops its timers (the run ended). */
  dispose(): void;
}

/** A task's `key` function, as `consumerTask` accepts it. */
export type KeyFunction<P> = (transaction: Transaction<P>) => string | undefined;

/** The waiting room of a task without a key: first in, first started. */
class FifoRoom<P> implements WaitingRoom<P> {
  private readonly queue = new FifoQueue<Transaction<P>>();
  readonly parked = 0;

  get length(): number {
    return this.queue.length;
  }

  add(transaction: Transaction<P>): void {
    this.queue.push(transaction);
  }

  startNext(starter: Starter<P>): boolean {
    const transaction = this.queue.shift();
    if (transaction === undefined) return false;
    starter.startOne(transaction, undefined, null);
    return true;
  }

  ended(): void {
    // every transaction may start at any time
  }

  drain(): Transaction<P>[] {
    return this.queue.drain();
  }

  dispose(): void {
    // no timers
  }
}

/** A held transaction of a keyed task; `order` is its place in the intake, for `drain`. */
interface KeyedEntry<P> {
  readonly transaction: Transaction<P>;
  readonly key: TransactionKey;
  readonly failure: TransactionError | null;
  readonly order: number;
}

/** A binary min-heap of entries on their intake `order`. */
class OrderHeap<P> {
  private readonly items: KeyedEntry<P>[] = objectArray();

  get length(): number {
    return this.items.length;
  }

  peek(): KeyedEntry<P> | undefined {
    return this.items[0];
  }

  push(entry: KeyedEntry<P>): void {
    const items = this.items;
    let index = items.length;
    items.push(entry);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent] as KeyedEntry<P>;
      if (above.order <= entry.order) break;
      items[index] = above;
      index = parent;
    }
    items[index] = entry;
  }

  shift(): KeyedEntry<P> | undefined {
    const items = this.items;
    const first = items[0];
    const last = items.pop();
    if (first === undefined || last === undefined || items.length === 0) return first;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= items.length) break;
      let below = items[child] as KeyedEntry<P>;
      const right = items[child + 1];
      if (right !== undefined && right.order < below.order) {
        child++;
        below = right;
      }
      if (below.order >= last.order) break;
      items[index] = below;
      index = child;
    }
    items[index] = last;
    return first;
  }

  drain(): KeyedEntry<P>[] {
    return this.items.splice(0);
  }
}

/** What the room knows of one key: how many are admitted, and who waits for it. */
interface KeyState<P> {
  /** Started, or ready to start. */
  admitted: number;
  /** Parked, oldest first; `null` while nobody waits. */
  parked: FifoQueue<KeyedEntry<P>> | null;
  /** The key's own rate (`loop.keyRateLimit`), or `null`. */
  readonly rate: RateSchedule | null;
  /** Wakes the key when its rate lets the next parked one go. */
  wait: Subscription | null;
}

/** What a keyed room needs for `loop.keyRateLimit`. */
export interface KeyRate {
  readonly limit: RateLimit;
  readonly scheduler: SchedulerLike;
  /** The run's pump: a key whose rate let a parked transaction go has one ready. */
  readonly wake: () => void;
}

/**
 * The waiting room of a keyed task. A transaction is admitted (ready to start) while fewer
 * than `perKey` of its key are admitted and, with `loop.keyRateLimit`, its key's own rate
 * allows one more; the others park in their key's queue, in intake order, and the oldest is
 * admitted when one of its key ends or its key's rate lets it go (a timer per key then).
 * Transactions without a key (or whose key function failed) are admitted at once. Admitted
 * transactions start oldest first.
 *
 * The per-transaction cost is kept to two map lookups on the key: a key's state is updated in
 * place and outlives its last transaction, and idle states are swept in bulk once the map has
 * twice as many keys as after the last sweep (an amortised O(1), and memory bounded by the
 * keys in use, even when every transaction has a key of its own).
 */
class KeyedRoom<P> implements WaitingRoom<P> {
  /** Admitted when they came in: already in intake order. */
  private readonly fresh = new FifoQueue<KeyedEntry<P>>();
  /** Admitted after waiting for their key: older than what came in since, in any order. */
  private readonly unparked = new OrderHeap<P>();
  private readonly keys = new Map<string, KeyState<P>>();
  private sweepAt = 1024;
  private intake = 0;
  parked = 0;

  constructor(
    private readonly keyOf: KeyFunction<P>,
    private readonly perKey: number,
    private readonly keyRate: KeyRate | null,
  ) {}

  get length(): number {
    return this.fresh.length + this.unparked.length + this.parked;
  }

  add(transaction: Transaction<P>): void {
    let key: TransactionKey;
    let failure: TransactionError | null = null;
    try {
      key = keyFor(this.keyOf, transaction);
    } catch (error) {
      key = undefined;
      failure = keyFailure(transaction, error);
    }
    const entry: KeyedEntry<P> = { transaction, key, failure, order: this.intake++ };
    if (key === undefined) {
      this.fresh.push(entry);
      return;
    }
    let state = this.keys.get(key);
    if (state === undefined) {
      if (this.keys.size >= this.sweepAt) this.sweep();
      state = {
        admitted: 0,
        parked: null,
        rate: this.keyRate === null ? null : new RateSchedule(this.keyRate.limit),
        wait: null,
      };
      this.keys.set(key, state);
    }
    if (state.parked === null && this.mayAdmit(key, state)) {
      this.admit(state);
      this.fresh.push(entry);
      return;
    }
    (state.parked ??= new FifoQueue()).push(entry);
    this.parked++;
  }

  startNext(starter: Starter<P>): boolean {
    const older = this.unparked.peek();
    const fresh = this.fresh.peek();
    const entry =
      older === undefined || (fresh !== undefined && fresh.order < older.order)
        ? this.fresh.shift()
        : this.unparked.shift();
    if (entry === undefined) return false;
    starter.startOne(entry.transaction, entry.key, entry.failure);
    return true;
  }

  ended(key: TransactionKey): void {
    if (key === undefined) return;
    const state = this.keys.get(key);
    if (state === undefined || state.admitted === 0) return; // drained meanwhile
    state.admitted--;
    this.admitParked(key, state);
  }

  drain(): Transaction<P>[] {
    const entries = [...this.fresh.drain(), ...this.unparked.drain()];
    for (const state of this.keys.values()) {
      if (state.parked !== null) entries.push(...state.parked.drain());
      state.wait?.unsubscribe();
    }
    this.keys.clear();
    this.parked = 0;
    return entries.sort((a, b) => a.order - b.order).map((entry) => entry.transaction);
  }

  dispose(): void {
    for (const state of this.keys.values()) {
      state.wait?.unsubscribe();
      state.wait = null;
    }
  }

  /**
   * Whether one more of `key` may be admitted now: fewer than `perKey` admitted, and its rate
   * allows one; when only the rate holds it back, the key is woken when it will.
   */
  private mayAdmit(key: string, state: KeyState<P>): boolean {
    if (state.admitted >= this.perKey) return false;
    const rate = state.rate;
    if (rate === null) return true;
    const keyRate = this.keyRate as KeyRate;
    const now = keyRate.scheduler.now();
    const at = rate.nextAt(now);
    if (at <= now) return true;
    if (state.wait === null) {
      state.wait = timer(Math.ceil(at) - now, keyRate.scheduler).subscribe(() => {
        state.wait = null;
        if (this.keys.get(key) !== state) return;
        const before = this.unparked.length;
        this.admitParked(key, state);
        if (this.unparked.length > before) keyRate.wake();
      });
    }
    return false;
  }

  private admit(state: KeyState<P>): void {
    state.admitted++;
    state.rate?.take((this.keyRate as KeyRate).scheduler.now());
  }

  /** Admits the oldest parked ones of `key` while it may (they start before newer ones). */
  private admitParked(key: string, state: KeyState<P>): void {
    const parked = state.parked;
    if (parked === null) return;
    while (parked.length > 0 && this.mayAdmit(key, state)) {
      this.admit(state);
      this.parked--;
      this.unparked.push(parked.shift() as KeyedEntry<P>);
    }
    if (parked.length === 0) state.parked = null;
  }

  /**
   * Forgets idle keys (nothing admitted or parked, and a rate, if any, back to a full burst);
   * the next sweep comes when the map has doubled over the busy ones.
   */
  private sweep(): void {
    const now = this.keyRate?.scheduler.now() ?? 0;
    for (const [key, state] of this.keys) {
      if (state.admitted > 0 || state.parked !== null || state.wait !== null) continue;
      const rate = state.rate;
      if (rate !== null && rate.availableNow(now) <= rate.limit.burst) continue;
      this.keys.delete(key);
    }
    this.sweepAt = Math.max(1024, 2 * this.keys.size);
  }
}

/**
 * The waiting room for a task: keyed when it has a `key` function (at most `perKey` of a key
 * at a time), first-in-first-out otherwise.
 */
export function waitingRoom<P>(
  keyOf: KeyFunction<P> | undefined,
  perKey: number,
  keyRate: KeyRate | null = null,
): WaitingRoom<P> {
  return keyOf === undefined ? new FifoRoom<P>() : new KeyedRoom(keyOf, perKey, keyRate);
}

/**
 * Calls the key function: a string is a key; `undefined` (and `null`, for JavaScript
 * callers) means none.
 * @throws what the function throws, or a TypeError naming anything else it returned.
 */
function keyFor<P>(keyOf: KeyFunction<P>, transaction: Transaction<P>): TransactionKey {
  // Through `call`, as the stages call handlers (see task-plan.ts): a task made anew for the
  // next run must not throw away the waiting room's optimized code (`wrong call target`).
  const key: unknown = keyOf.call(undefined, transaction);
  if (typeof key === 'string') return key;
  if (key === undefined || key === null) return undefined;
  throw new TypeError(
    `it returned ${describeValue(key)}; return a string (String(id) for a number) or undefined for no key`,
  );
}

/** The failure of a transaction whose key could not be computed: not retried, not keyed. */
function keyFailure<P>(transaction: Transaction<P>, error: unknown): TransactionError {
  return new TransactionError(
    `key of transaction ${transaction.id} could not be computed: ${describeError(error)}`,
    {
      category: 'business',
      transactionId: transaction.id,
      stage: 'key',
      cause: error,
      nonRetryable: true,
    },
  );
}
