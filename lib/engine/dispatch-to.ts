import { context } from '@opentelemetry/api';
import type { OperatorFunction, Subscriber } from 'rxjs';
import { CancellationError } from '../core/errors.js';
import type { Connector, DispatchReceipt } from '../core/connector.js';
import { FifoQueue } from '../core/fifo-queue.js';
import type { Transaction } from '../core/transaction.js';
import {
  dispatchOptions,
  type DispatchOptions,
  type DispatchOptionsInput,
} from '../policy/dispatch-options.js';
import type { EngineOptions } from './engine-options.js';
import {
  BatchDispatcher,
  requireDispatch,
  type DispatcherListener,
  type Offer,
} from './internal/batch-dispatcher.js';
import { EngineClock } from './internal/engine-clock.js';
import { engineOperator, SourceRun } from './internal/engine-run.js';
import { RunTelemetry } from './internal/instrumentation/run-telemetry.js';

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
  return engineOperator(
    (subscriber) =>
      new DispatchRun<P>(
        connector,
        decoded,
        new EngineClock(engine.scheduler),
        new RunTelemetry('producer', engine.name ?? 'dispatchTo', connector, {
          traces: engine.traces,
        }),
        subscriber,
      ),
  );
}

/** The run behind {@link dispatchTo}: one dispatcher, and what does not fit in it yet. */
class DispatchRun<P>
  extends SourceRun<Transaction<P>, DispatchReceipt<P>>
  implements DispatcherListener<P>
{
  private readonly dispatcher: BatchDispatcher<P>;
  private readonly overflow = new FifoQueue<Offer<P>>();

  constructor(
    connector: Connector<P>,
    options: DispatchOptions,
    clock: EngineClock,
    telemetry: RunTelemetry,
    subscriber: Subscriber<DispatchReceipt<P>>,
  ) {
    super(subscriber, clock, telemetry);
    this.dispatcher = new BatchDispatcher<P>(connector, options, clock, this, telemetry);
  }

  take(transaction: Transaction<P>): void {
    const created = this.telemetry.tracing ? context.active() : null;
    if (this.overflow.length === 0 && this.dispatcher.hasSpace()) {
      this.dispatcher.offer(transaction, null, created);
    } else {
      this.overflow.push({ transaction, waiter: null, created });
    }
  }

  receipt(receipt: DispatchReceipt<P>): void {
    this.emit(receipt);
  }

  space(): void {
    this.pump();
  }

  protected step(): void {
    if (this.finished) return;
    this.dispatcher.admit(this.overflow);
    if (!this.sourceDone || this.overflow.length > 0) return;
    this.dispatcher.drain();
    if (this.dispatcher.idle && !this.finished) this.finish();
  }

  protected cancel(): void {
    this.dispatcher.cancelAll(new CancellationError('unsubscribe'));
  }
}
