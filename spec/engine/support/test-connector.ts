import {
  defer,
  ignoreElements,
  Observable,
  switchMap,
  tap,
  throwError,
  timer,
  type Subscription,
} from 'rxjs';
import type { Connector, FetchRequest } from '../../../lib/core/connector.js';
import { MemoryConnector } from '../../../lib/connectors/memory/memory-connector.js';
import type { Outcome, SettleDecision } from '../../../lib/core/outcome.js';
import type { Transaction } from '../../../lib/core/transaction.js';
import { now } from './virtual-time.js';

export interface TestConnectorOptions<P> {
  /** Payloads of the underlying {@link MemoryConnector}. */
  readonly source?: Iterable<P>;
  /** Ask the memory connector for `size × overReturn` (a connector that ignores `size`). */
  readonly overReturn?: number;
  /** Each fetch takes this long (scheduler time) before it takes anything from the queue. */
  readonly fetchDelay?: number;
  /** Return an error to make fetch call `call` (1-based) fail, `undefined` to let it pass. */
  readonly failFetch?: (call: number, request: FetchRequest) => unknown;
  /** `settle` returns an Observable that settles on the memory connector after this delay. */
  readonly settleDelay?: number;
  /** Safety net: fetch calls beyond this fail, so a spinning loop ends (default 10 000). */
  readonly maxFetches?: number;
}

/** One `fetch` call as the engine made it. */
export interface FetchCall {
  /** Scheduler time of the subscription. */
  readonly at: number;
  readonly size: number;
  readonly extra: Readonly<Record<string, unknown>>;
  /** How many transactions this call emitted. */
  returned: number;
  /** `true` once the engine unsubscribed before the fetch completed. */
  cancelled: boolean;
}

/** One `settle` call. */
export interface SettleCall<P> {
  readonly at: number;
  readonly transaction: Transaction<P>;
  readonly decision: SettleDecision;
  /** Scheduler time the settlement finished, or `null` while it runs. */
  finishedAt: number | null;
}

/**
 * A connector for engine specs: a {@link MemoryConnector} behind a wrapper that records every
 * request and settlement with its (virtual) time, and can misbehave on purpose (over-return,
 * slow or failing fetches, slow settlements).
 */
export class TestConnector<P = unknown> implements Connector<P> {
  readonly memory: MemoryConnector<P>;
  readonly calls: FetchCall[] = [];
  /** Every transaction a fetch emitted, in order. */
  readonly delivered: Transaction<P>[] = [];
  readonly settles: SettleCall<P>[] = [];
  /** Called whenever a settlement finished. */
  onSettled: ((call: SettleCall<P>) => void) | null = null;

  constructor(private readonly options: TestConnectorOptions<P> = {}) {
    this.memory = new MemoryConnector<P>({ record: true, idPrefix: 'tx-', source: options.source });
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return defer(() => {
      const call: FetchCall = {
        at: now(),
        size: request.size,
        extra: request.extra,
        returned: 0,
        cancelled: false,
      };
      this.calls.push(call);
      const number = this.calls.length;
      if (number > (this.options.maxFetches ?? 10_000)) {
        return throwError(() => new Error(`test connector: more than ${number - 1} fetches`));
      }
      const error = this.options.failFetch?.(number, request);
      if (error !== undefined) return throwError(() => error);
      const take = (): Observable<Transaction<P>> =>
        this.memory.fetch({ ...request, size: request.size * (this.options.overReturn ?? 1) });
      const source =
        this.options.fetchDelay === undefined
          ? take()
          : timer(this.options.fetchDelay).pipe(switchMap(take));
      return new Observable<Transaction<P>>((subscriber) => {
        let done = false;
        const subscription: Subscription = source
          .pipe(
            tap((transaction) => {
              call.returned++;
              this.delivered.push(transaction);
            }),
          )
          .subscribe({
            next: (transaction) => subscriber.next(transaction),
            error: (error: unknown) => {
              done = true;
              subscriber.error(error);
            },
            complete: () => {
              done = true;
              subscriber.complete();
            },
          });
        return () => {
          if (!done) call.cancelled = true;
          subscription.unsubscribe();
        };
      });
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): void | Observable<never> {
    const call: SettleCall<P> = { at: now(), transaction, decision, finishedAt: null };
    this.settles.push(call);
    const finish = (): void => {
      this.memory.settle(transaction, decision);
      call.finishedAt = now();
      this.onSettled?.(call);
    };
    if (this.options.settleDelay === undefined) {
      finish();
      return;
    }
    return timer(this.options.settleDelay).pipe(tap(finish), ignoreElements());
  }

  /** Transactions fetched and not settled yet. */
  get unsettled(): number {
    return this.memory.unsettled;
  }

  /** Request sizes, in order. */
  get sizes(): number[] {
    return this.calls.map((call) => call.size);
  }

  /** Times of the fetch calls, in order. */
  get fetchTimes(): number[] {
    return this.calls.map((call) => call.at);
  }

  /** Payloads still waiting in the memory connector (reads a lazy source to the end). */
  remaining(): number {
    let count = -1;
    this.memory.count().subscribe((n) => (count = n));
    return count;
  }
}

/** `status`, plus the reason for released outcomes (`released:shutdown`). */
export function statusOf(outcome: Outcome): string {
  return outcome.status === 'released' ? `released:${outcome.reason}` : outcome.status;
}

/**
 * Checks the design's first rule on a finished run: every delivery of a transaction was
 * settled exactly once, and the memory connector's counts add up. Returns what is wrong, or
 * `null` (so `expect(settledExactlyOnce(c)).to.equal(null)` shows the problem on failure).
 */
export function settledExactlyOnce<P>(connector: TestConnector<P>): string | null {
  if (connector.unsettled !== 0) return `${connector.unsettled} fetched transactions unsettled`;
  const balance = new Map<Transaction<P>, number>();
  for (const transaction of connector.delivered) {
    balance.set(transaction, (balance.get(transaction) ?? 0) + 1);
  }
  for (const call of connector.settles) {
    const open = balance.get(call.transaction) ?? 0;
    if (open === 0) return `transaction ${call.transaction.id} settled more often than fetched`;
    balance.set(call.transaction, open - 1);
  }
  for (const [transaction, open] of balance) {
    if (open !== 0) return `transaction ${transaction.id} fetched ${open} more times than settled`;
  }
  const { ack, deadLetter, release } = connector.memory.counts;
  if (ack + deadLetter + release !== connector.delivered.length) {
    return `counts ${JSON.stringify(connector.memory.counts)} do not add up to ${connector.delivered.length}`;
  }
  return null;
}
