import { defer, from, Observable, type Subscriber } from 'rxjs';
import type { ConnectorHealth } from '../../../core/connector.js';
import { ConnectorClosedError } from '../../../core/errors.js';
import type { Transaction } from '../../../core/transaction.js';
import type { PostgresService } from '../postgres-service.js';

/** The fetches under way, each by its abort controller: what `close` aborts and waits for. */
export type FetchesUnderWay = Map<AbortController, Promise<void>>;

/**
 * The cold fetch of the PostgreSQL connectors: each subscription runs `fetchInto` (tracked in
 * `fetches` until it ended) with a signal that unsubscribing aborts with `cancelled`; once the
 * connector is closed (`closedAs` gives the message), it fails with `ConnectorClosedError`.
 */
export function trackedFetch<P>(
  fetches: FetchesUnderWay,
  closedAs: () => string | null,
  fetchInto: (subscriber: Subscriber<Transaction<P>>, signal: AbortSignal) => Promise<void>,
  cancelled: Error,
): Observable<Transaction<P>> {
  return new Observable<Transaction<P>>((subscriber) => {
    const closed = closedAs();
    if (closed !== null) {
      subscriber.error(new ConnectorClosedError(closed));
      return;
    }
    const abort = new AbortController();
    const running = fetchInto(subscriber, abort.signal).finally(() => fetches.delete(abort));
    fetches.set(abort, running);
    return () => abort.abort(cancelled);
  });
}

/** The service's health, or `closed` once the connector is. */
export function serviceHealth(
  closed: () => boolean,
  service: PostgresService,
): Observable<ConnectorHealth> {
  return defer(() =>
    closed() ? from([{ healthy: false, state: 'closed' } as const]) : from(service.health()),
  );
}
