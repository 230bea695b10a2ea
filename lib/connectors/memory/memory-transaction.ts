import type { Transaction } from '../../core/transaction.js';

const noMetadata: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A frozen transaction made by a {@link MemoryConnector}, carrying its lease in private fields
 * (invisible to `Object.keys`, JSON and deep equality). Fetched transactions form a doubly
 * linked list through these fields, so leasing and settling cost no hash-table churn: a `Set`
 * of leased transactions made V8 pretenure its rehashed tables, and peak RSS grew with the
 * number of transactions.
 */
export class MemoryTransaction<P> implements Transaction<P> {
  readonly id: string;
  readonly payload: P;
  readonly metadata: Readonly<Record<string, unknown>>;
  #ledger: LeaseLedger<P> | null = null;
  #previous: MemoryTransaction<P> | null = null;
  #next: MemoryTransaction<P> | null = null;

  constructor(id: string, payload: P, metadata: Readonly<Record<string, unknown>> = noMetadata) {
    this.id = id;
    this.payload = payload;
    this.metadata = metadata;
    Object.freeze(this);
  }

  /** Records that `ledger` handed this transaction out. */
  static lease<P>(ledger: LeaseLedger<P>, transaction: MemoryTransaction<P>): void {
    transaction.#ledger = ledger;
    transaction.#previous = null;
    transaction.#next = ledger.first;
    if (ledger.first !== null) ledger.first.#previous = transaction;
    ledger.first = transaction;
    ledger.size++;
  }

  /** Ends the lease; `false` when `ledger` does not hold it (settled twice, or foreign). */
  static release<P>(
    ledger: LeaseLedger<P>,
    transaction: Transaction<P>,
  ): transaction is MemoryTransaction<P> {
    if (!(transaction instanceof MemoryTransaction) || transaction.#ledger !== ledger) return false;
    const leased = transaction as MemoryTransaction<P>;
    if (leased.#previous !== null) leased.#previous.#next = leased.#next;
    else ledger.first = leased.#next;
    if (leased.#next !== null) leased.#next.#previous = leased.#previous;
    leased.#ledger = leased.#previous = leased.#next = null;
    ledger.size--;
    return true;
  }

  /** The leased transactions, most recently leased first. */
  static *leased<P>(ledger: LeaseLedger<P>): Generator<MemoryTransaction<P>> {
    for (let transaction = ledger.first; transaction !== null; transaction = transaction.#next) {
      yield transaction;
    }
  }
}

/** The head of a connector's list of leased (fetched, unsettled) transactions. */
export interface LeaseLedger<P> {
  first: MemoryTransaction<P> | null;
  size: number;
}
