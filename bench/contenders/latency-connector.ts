import { map, type Observable } from 'rxjs';
import type { Connector, Eventually, FetchRequest, SettleDecision, Transaction } from 'ergon-rx';
import type { LatencyRecorder } from './latency-recorder.js';

/** A transaction as the wrapped connector fetched it, stamped with the time of the fetch. */
class TimedTransaction<P> implements Transaction<P> {
  readonly id: string;
  readonly payload: P;
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    readonly fetched: Transaction<P>,
    readonly fetchedAt: number,
  ) {
    this.id = fetched.id;
    this.payload = fetched.payload;
    this.metadata = fetched.metadata;
  }
}

/**
 * Wraps a connector to record, for every transaction, the time from the moment its fetch
 * emitted it to the moment the engine called `settle` for it (fetch-to-settle latency). The
 * stamp travels on the transaction itself (one small object per transaction, no map lookup),
 * and the wrapped connector gets its own transaction back on `settle`.
 */
export class LatencyConnector<P> implements Connector<P> {
  readonly system: string | undefined;
  readonly destination: string | undefined;

  constructor(
    private readonly connector: Connector<P>,
    private readonly recorder: LatencyRecorder,
  ) {
    this.system = connector.system;
    this.destination = connector.destination;
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return this.connector
      .fetch(request)
      .pipe(map((transaction) => new TimedTransaction(transaction, performance.now())));
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Eventually<void> {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- the engine settles only what this connector's fetch emitted, each a TimedTransaction (no lookup on the hot path)
    const timed = transaction as TimedTransaction<P>;
    this.recorder.record(performance.now() - timed.fetchedAt);
    return this.connector.settle?.(timed.fetched, decision);
  }

  close(): Eventually<void> {
    return this.connector.close?.();
  }
}
