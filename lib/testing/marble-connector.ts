import type { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { Connector, FetchRequest } from '../core/connector.js';
import type { SettleDecision } from '../core/outcome.js';
import { createTransaction, type Transaction } from '../core/transaction.js';

/** A fetch the connector saw: how many transactions were asked for, at which virtual frame. */
export interface RecordedFetch {
  readonly frame: number;
  readonly size: number;
}

/** A settlement the connector saw, with the transaction id and the virtual frame. */
export interface RecordedSettlement {
  readonly frame: number;
  readonly id: string;
  readonly decision: SettleDecision['type'];
  /** The release reason or the dead-letter error message. */
  readonly detail?: string;
}

/**
 * A connector for marble tests: the k-th fetch subscription plays the k-th marble diagram
 * (after the last one, every fetch plays `afterLast`, by default `'|'`: empty). Each marble
 * letter becomes a transaction whose id is the letter and whose payload is `values[letter]`
 * (or the letter itself), so outcome and settlement assertions can name transactions by
 * letter. Marbles are played as written, even beyond `request.size`, so a connector that
 * over-returns is easy to describe. Use it inside `TestScheduler.run`.
 *
 * @example
 * ```ts
 * testScheduler.run(({ expectObservable }) => {
 *   const connector = new MarbleConnector(testScheduler, ['-(ab|)', '--c|']);
 *   expectObservable(consume(connector, task, policy).pipe(summarize())).toBe(…);
 *   // connector.requests: [{ frame: 0, size: 2 }, …]; connector.settlements: [{ id: 'a', … }]
 * });
 * ```
 */
export class MarbleConnector<P = string> implements Connector<P> {
  readonly requests: RecordedFetch[] = [];
  readonly settlements: RecordedSettlement[] = [];
  private readonly transactions = new Map<string, Transaction<P>>();

  constructor(
    private readonly scheduler: TestScheduler,
    private readonly fetches: readonly string[],
    private readonly values: Readonly<Record<string, P>> = {},
    private readonly afterLast = '|',
  ) {}

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    const marble = this.fetches[this.requests.length] ?? this.afterLast;
    this.requests.push({ frame: this.scheduler.now(), size: request.size });
    return this.scheduler.createColdObservable(marble, this.transactionValues(marble));
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): void {
    const detail =
      decision.type === 'release'
        ? decision.reason
        : decision.type === 'deadLetter'
          ? decision.error.message
          : undefined;
    this.settlements.push({
      frame: this.scheduler.now(),
      id: transaction.id,
      decision: decision.type,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** `{ id: decision }` for every settled transaction, handy for `deep.equal`. */
  decisions(): Record<string, SettleDecision['type']> {
    return Object.fromEntries(this.settlements.map((s) => [s.id, s.decision]));
  }

  private transactionValues(marble: string): Record<string, Transaction<P>> {
    const values: Record<string, Transaction<P>> = {};
    for (const letter of marble.replace(/[\s\-|#()^!]|\d+(ms|s|m)/g, '')) {
      let transaction = this.transactions.get(letter);
      if (transaction === undefined) {
        const payload = letter in this.values ? this.values[letter] : letter;
        transaction = createTransaction(payload as P, { id: letter });
        this.transactions.set(letter, transaction);
      }
      values[letter] = transaction;
    }
    return values;
  }
}
