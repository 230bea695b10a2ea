import { context } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { DispatchError } from '../core/errors.js';
import type { Connector, DispatchFailure } from '../core/connector.js';
import { FifoQueue } from '../core/fifo-queue.js';
import type { Transaction } from '../core/transaction.js';
import { dispatchOptions, type DispatchOptionsInput } from '../policy/dispatch-options.js';
import {
  BatchDispatcher,
  requireDispatch,
  type DispatchWaiter,
  type Offer,
} from './internal/batch-dispatcher.js';
import { EngineClock } from './internal/engine-clock.js';
import { RunTelemetry } from './internal/instrumentation/run-telemetry.js';
import type { EngineOptions } from './engine-options.js';

/** A shared batching sink: many callers' transactions go out together in batches. */
export interface Dispatcher<P> {
  /**
   * Queues transactions for dispatch (cold: on subscribe). Emits them once every one was
   * dispatched, then completes; errors with a {@link DispatchError} naming those that failed.
   * Unsubscribing withdraws those not sent yet.
   */
  send(
    transactions: Transaction<P> | readonly Transaction<P>[],
  ): Observable<readonly Transaction<P>[]>;
}

/** A transaction waiting for room in the shared batches. */
interface Waiting<P> extends Offer<P> {
  readonly waiter: SendWaiter<P>;
}

/** A send that was withdrawn (unsubscribed): its waiting transactions are dropped. */
const withdrawn = <P>(entry: Waiting<P>): boolean => entry.waiter.done;

/** One `send` call waiting for its transactions. */
class SendWaiter<P> implements DispatchWaiter<P> {
  private remaining: number;
  private readonly failures: DispatchFailure<P>[] = [];
  done = false;

  constructor(
    private readonly transactions: readonly Transaction<P>[],
    private readonly settle: (error: DispatchError<P> | null) => void,
  ) {
    this.remaining = transactions.length;
  }

  dispatched(): void {
    this.count();
  }

  failed(transaction: Transaction<P>, error: unknown): void {
    this.failures.push({ transaction, error });
    this.count();
  }

  private count(): void {
    if (--this.remaining > 0 || this.done) return;
    this.done = true;
    this.settle(
      this.failures.length === 0
        ? null
        : new DispatchError(this.failures, this.transactions.length),
    );
  }
}

/**
 * Creates a shared batching sink for `connector`. Its main use is the hybrid task: a
 * consumer whose `process` sends zero, one or many outbound transactions and returns the
 * `send` Observable, so the inbound transaction is settled only after every outbound one was
 * dispatched (a crash before that means redelivery, not loss), while the outbound traffic
 * of all concurrent lifecycles is batched together.
 *
 * @example
 * ```ts
 * const outbox = createDispatcher(orders, { batch: 200, maxWait: '20ms' });
 * const enrich = consumerTask({
 *   process: (tx: Transaction<Order>) =>
 *     outbox.send(tx.payload.lines.map((line) => createTransaction(line, { id: `${tx.id}:${line.no}` }))),
 * });
 * consume(inbox, enrich, { loop: { mode: 'continuous', concurrency: { value: 32 } } }).subscribe();
 * ```
 */
export function createDispatcher<P>(
  connector: Connector<P>,
  options?: DispatchOptionsInput,
  engine: EngineOptions = {},
): Dispatcher<P> {
  requireDispatch(connector, 'createDispatcher');
  const overflow = new FifoQueue<Waiting<P>>();
  const admit = (): void => {
    batches.admit(overflow, withdrawn);
    // A dispatcher lives as long as its users: between sends no timer of ours may hold
    // the event loop (the attempt deadlines stay armed otherwise).
    if (batches.idle) clock.dispose();
  };
  const telemetry = new RunTelemetry('producer', engine.name ?? 'dispatcher', connector, {
    runSpan: false,
    traces: engine.traces,
  });
  const clock = new EngineClock(engine.scheduler);
  const batches = new BatchDispatcher<P>(
    connector,
    dispatchOptions(options),
    clock,
    { receipt: () => undefined, space: admit },
    telemetry,
  );
  return {
    send: (transactions) => {
      const list: readonly Transaction<P>[] = Array.isArray(transactions)
        ? (transactions as readonly Transaction<P>[])
        : [transactions as Transaction<P>];
      return new Observable<readonly Transaction<P>[]>((subscriber) => {
        if (list.length === 0) {
          subscriber.next(list);
          subscriber.complete();
          return;
        }
        const waiter = new SendWaiter(list, (error) => {
          if (error === null) {
            subscriber.next(list);
            subscriber.complete();
          } else {
            subscriber.error(error);
          }
        });
        const created = telemetry.tracing ? context.active() : null;
        for (const transaction of list) overflow.push({ transaction, waiter, created });
        admit();
        return () => {
          if (waiter.done) return;
          waiter.done = true;
          for (const transaction of list) batches.withdraw(transaction);
        };
      });
    },
  };
}
