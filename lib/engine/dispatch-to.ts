import { context, type Context } from '@opentelemetry/api';
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { CancellationError } from '../core/cancellation-error.js';
import type { DispatchReceipt } from '../core/dispatch-receipt.js';
import { FifoQueue } from '../core/fifo-queue.js';
import type { Transaction } from '../core/transaction.js';
import type { Connector } from '../connector/connector.js';
import { dispatchOptions, type DispatchOptionsInput } from '../policy/dispatch-options.js';
import { BatchDispatcher } from './internal/batch-dispatcher.js';
import { EngineClock } from './internal/engine-clock.js';
import { RunTelemetry } from './internal/instrumentation/run-telemetry.js';
import type { EngineOptions } from './engine-options.js';
import { requireDispatch } from './internal/batch-dispatcher.js';

/**
 * A sink: sends the source's transactions to `connector` in batches of `batch` (or whatever
 * arrived within `maxWait`), at most `concurrency` batches at once, each under `retry`, and
 * emits one {@link DispatchReceipt} per batch. A batch that still fails after its retries is
 * reported in its receipt (`error`, every transaction in `failed`), as is a partial failure
 * the connector reported; the stream goes on. It completes once the source completed and
 * every batch was sent. Each attempt gets an `AbortSignal`; a timed-out attempt is aborted
 * and waited for (its late success counts, its retry never runs beside it), keeping its
 * slot; a report that breaks the connector contract fails its batch with
 * `ConnectorContractError`.
 *
 * Besides the batches being sent it holds one forming batch; a push source that outruns the
 * connector waits in an internal queue (pull-based sources, like `consume`, never do).
 *
 * ```
 * source:      -a-b-c-d-e----|          batch 2, maxWait 5
 * dispatchTo:  ---x---y-------(z|)      x = [a b], y = [c d], z = [e] (flushed on complete)
 * ```
 *
 * @example
 * ```ts
 * from(rows).pipe(
 *   map((row) => createTransaction(row, { id: row.key })),
 *   dispatchTo(postgres, { batch: 500, maxWait: '50ms', retry: { maxAttempts: 3, backoff: 200 } }),
 * ).subscribe((receipt) => console.log(`${receipt.transactions.length} sent, ${receipt.failed.length} failed`));
 * ```
 */
export function dispatchTo<P>(
  connector: Connector<P>,
  options?: DispatchOptionsInput,
  engine: EngineOptions = {},
): OperatorFunction<Transaction<P>, DispatchReceipt<P>> {
  requireDispatch(connector, 'dispatchTo');
  const decoded = dispatchOptions(options);
  return (source) =>
    new Observable<DispatchReceipt<P>>((subscriber) => {
      const clock = new EngineClock(engine.scheduler);
      const overflow = new FifoQueue<{ transaction: Transaction<P>; created: Context | null }>();
      let sourceDone = false;
      let sourceError: { error: unknown } | null = null;
      const settleDown = (): void => {
        const admitted: { transaction: Transaction<P>; waiter: null; created: Context | null }[] =
          [];
        for (let room = dispatcher.room; overflow.length > 0 && room > 0; room--) {
          const next = overflow.shift() as { transaction: Transaction<P>; created: Context | null };
          admitted.push({ transaction: next.transaction, waiter: null, created: next.created });
        }
        if (admitted.length > 0) dispatcher.offerAll(admitted);
        if (!sourceDone || overflow.length > 0) return;
        dispatcher.drain();
        if (dispatcher.idle && !subscriber.closed) {
          clock.dispose();
          telemetry.end(sourceError === null ? undefined : sourceError.error);
          if (sourceError === null) subscriber.complete();
          else subscriber.error(sourceError.error);
        }
      };
      const telemetry = new RunTelemetry('producer', engine.name ?? 'dispatchTo', connector, {
        traces: engine.traces,
      });
      const dispatcher = new BatchDispatcher<P>(
        connector,
        decoded,
        clock,
        { receipt: (receipt) => subscriber.next(receipt), space: settleDown },
        telemetry,
      );
      let subscription: Subscription | null = null;
      subscriber.add(() => {
        subscription?.unsubscribe();
        dispatcher.cancelAll(new CancellationError('unsubscribe'));
        clock.dispose();
        telemetry.end();
      });
      subscription = source.subscribe({
        next: (transaction) => {
          const created = telemetry.tracing ? context.active() : null;
          if (overflow.length === 0 && dispatcher.hasSpace()) {
            dispatcher.offer(transaction, null, created);
          } else {
            overflow.push({ transaction, created });
          }
        },
        error: (error: unknown) => {
          sourceDone = true;
          sourceError = { error };
          settleDown();
        },
        complete: () => {
          sourceDone = true;
          settleDown();
        },
      });
      if (subscriber.closed) subscription.unsubscribe();
    });
}
