import type pg from 'pg';
import { defer, from, map, type Observable, type Subscriber } from 'rxjs';
import {
  CancellationError,
  ConnectorClosedError,
  DeliveryLostError,
  DispatchConflictError,
} from '../../core/errors.js';
import type {
  ConnectorScheduling,
  Connector,
  ConnectorHealth,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { notBeforeOf, priorityOf } from '../../core/delivery-schedule.js';
import { traceHeaders } from '../../core/trace-headers.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import {
  leaseKeys,
  PayloadColumn,
  type QueueLease,
  type QueueRow,
  rowTransaction,
} from './internal/queue-row.js';
import {
  postgresConnectorConfig,
  type PostgresConnectorConfig,
  type PostgresConnectorConfigInput,
} from './postgres-connector-config.js';
import { PostgresQueueError } from './errors.js';
import { connectorService, workerOwner } from './internal/connector-service.js';
import type { PostgresService } from './postgres-service.js';
import { migrateQueue, QueueStatements } from './internal/queue-statements.js';
import { waitAtMost } from '../../core/waiting.js';
import { SettleQueue } from './internal/settle-queue.js';
import { PostgresDeadLetters } from './postgres-dead-letters.js';
import { serviceHealth, trackedFetch, type FetchesUnderWay } from './internal/tracked-fetch.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';
import type { WakeSignal } from './internal/notification-listener.js';

/**
 * The metadata of a fetched transaction: `table` (`schema.table`), `deliveryCount`,
 * `redelivered`, `enqueuedAt` (ISO 8601), `headers` and the `traceparent`/`tracestate` found
 * in them, and `key` when the row has an ordering key.
 */
export type QueueMetadata = {
  readonly table: string;
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  readonly enqueuedAt: string;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * The row's ordering key (`metadata.key` of the dispatched transaction); absent when it has
   * none. Rows of one key are claimed one at a time, in insertion order, by all workers
   * together (docs/connectors/postgres.md, "Order per key across workers").
   */
  readonly key?: string;
};

/**
 * The ordering key of a transaction: its `metadata.key` when that is a non-empty string, else
 * `undefined`. `dispatch` stores it in the row's `key` column and `fetch` puts it back, so it
 * is the `key` function of a task that keeps order per key:
 * `consumerTask({ key: queueKey, process })`.
 */
export function queueKey(transaction: Transaction): string | undefined {
  const key = transaction.metadata['key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/** Options of a {@link PostgresConnector}. */
export interface PostgresConnectorOptions {
  /**
   * A service to share (its pool and LISTEN connection); the connector then leaves
   * `connection` to it and does not close it. Without one, the connector opens its own from
   * `connection` and closes it on `close()`.
   */
  readonly service?: PostgresService;
}

/** How long `close()` gives its last statements (flushing settlements, releasing leases). */
const closeBound = 1500;

/** The abort reason of a fetch that is no longer wanted (a shared one: no `DOMException` each time). */
const fetchCancelled = new CancellationError('unsubscribe');

/** SQLSTATE of `undefined_table`. */
const undefinedTable = '42P01';

interface EncodedRow<P> {
  readonly transaction: Transaction<P>;
  readonly payload: string | Buffer;
  readonly headers: string;
  /** `metadata.key`, or `null`. */
  readonly key: string | null;
  /** `metadata.notBefore` as an ISO 8601 time, or `null`. */
  readonly notBefore: string | null;
  /** `metadata.priority`, or `null`. */
  readonly priority: number | null;
}

/**
 * A queue in a PostgreSQL table. `fetch` claims rows with `FOR UPDATE SKIP LOCKED` under a
 * lease (visibility timeout), so any number of consumers share the table without handing a
 * row to two of them; a fetch that finds nothing waits for a NOTIFY (or `fetchWait`).
 * `settle` deletes the row (`ack`), moves it to the dead table with the error
 * (`deadLetter`) or clears the lease (`release`); rows of crashed consumers come back when
 * their lease expires, and rows delivered `maxDeliveries` times go to the dead table.
 * `dispatch` inserts a batch per statement. Call `migrate()` once (at start, from every
 * worker if you like) to create the tables.
 *
 * @example
 * ```ts
 * const connector = new PostgresConnector({
 *   connection: { url: 'postgres://app@db/jobs', applicationName: 'orders-worker' },
 *   table: 'orders',
 *   lease: '1m',
 * });
 * await connector.migrate();
 * consume(connector, consumerTask({ process: ship }), {
 *   loop: { mode: 'continuous', concurrency: { value: 32 }, streaming: true },
 *   fetch: { empty: { backoff: 0 } },
 * }).subscribe();
 * ```
 */
export class PostgresConnector<P = unknown> implements Connector<P> {
  /**
   * Delays are the row's `available_at` (a retry-later clears the lease and sets it), so they
   * hold no consumer and survive any restart; `metadata.notBefore` sets it on insert, and
   * `metadata.priority` (0–9) orders the claim, highest first.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: true,
    priority: true,
  });
  readonly config: PostgresConnectorConfig<P>;
  readonly service: PostgresService;
  /** This consumer's `lease_owner`: host, pid and a random suffix. */
  readonly owner: string;
  private readonly ownsService: boolean;
  private readonly statements: QueueStatements;
  private readonly column: PayloadColumn<P>;
  private readonly tableName: string;
  private readonly held = new Map<Transaction<P>, QueueLease>();
  private readonly settles: SettleQueue;
  /** Running fetches: close() aborts them and waits until they handed back what they claimed. */
  private readonly fetches: FetchesUnderWay = new Map();
  private readonly renewal: NodeJS.Timeout;
  private renewing = false;
  private wake: WakeSignal | null = null;
  private closing: Promise<void> | null = null;

  /**
   * @throws PolicyError when `input` is not a valid config, or has `connection` settings while
   *   `options.service` is given.
   */
  constructor(input: PostgresConnectorConfigInput<P>, options: PostgresConnectorOptions = {}) {
    this.config = postgresConnectorConfig(input);
    const { service, owned } = connectorService(
      'PostgreSQL connector config',
      options.service,
      input.connection,
      this.config.connection,
    );
    this.service = service;
    this.ownsService = owned;
    this.owner = workerOwner();
    this.statements = new QueueStatements(this.config);
    this.column = new PayloadColumn(this.config.payloadType, this.config.codec);
    this.tableName = `${this.config.schema}.${this.config.table}`;
    this.settles = new SettleQueue(this.service, this.statements, this.owner);
    this.renewal = setInterval(() => this.renewLeases(), Math.max(this.config.lease / 3, 10));
    this.renewal.unref();
  }

  /**
   * Creates the queue table, dead table, indexes and NOTIFY trigger if missing; safe to call
   * from several workers at once (one advisory lock serialises them).
   */
  migrate(): Promise<void> {
    return migrateQueue(this.service, this.config);
  }

  /**
   * Claims up to `request.size` rows. When there are none, waits for a NOTIFY on the channel
   * (a dispatch, an INSERT from SQL, a release) for at most `fetchWait`, then claims again.
   * Connection failures are retried with the `reconnect` backoff for as long as the fetch is
   * subscribed; unsubscribing cancels the wait at once, and rows claimed but not emitted by
   * then are handed back as if never delivered.
   */
  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return trackedFetch(
      this.fetches,
      () => (this.closing === null ? null : `PostgreSQL connector ${this.tableName} is closed`),
      (subscriber, signal) => this.fetchInto(subscriber, request.size, signal),
      fetchCancelled,
    );
  }

  /**
   * `ack` deletes the row, `deadLetter` moves it to the dead table with the error (one
   * statement), `release` clears the lease (available again after `releaseDelay`).
   * Settlements of the same event-loop turn share one statement per kind.
   *
   * @throws SettlementError (rejects) for a transaction this connector did not fetch, or settled twice.
   * @throws DeliveryLostError (rejects) when the row is no longer leased to this connector: its
   *   lease expired and another consumer claimed it, `close()` released it, or the database
   *   stayed unreachable until the lease ran out. The row is (or will be) delivered again.
   */
  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const lease = takeDelivery(this.held, transaction);
    if (lease === undefined) return notHeld(transaction);
    if (lease.lost !== null) return Promise.reject(new DeliveryLostError(lease.lost));
    let settled: Promise<void>;
    switch (decision.type) {
      case 'ack':
        settled = this.settles.ack(lease);
        break;
      case 'release':
        settled = this.settles.release(lease, decision.delay ?? this.config.releaseDelay);
        break;
      case 'deadLetter':
        settled = this.settles.deadLetter(lease, decision.error);
        break;
    }
    // The last held transaction settled (the end of a batch): nothing else can join the
    // statement, so it need not wait for the next turn of the event loop.
    if (this.held.size === 0) this.settles.flushSoon();
    return settled;
  }

  /**
   * Inserts the transactions, `dispatchBatch` rows per statement, with `traceHeaders` in
   * `headers`; the INSERT trigger NOTIFYs waiting consumers. An id that is already queued
   * with the same payload is an idempotent success (`ON CONFLICT (id) DO NOTHING`), so
   * retrying a batch never duplicates rows; an id queued with a different payload (another
   * transaction, or the same id twice in one batch) fails that transaction with
   * {@link DispatchConflictError} instead of being dropped. A payload the codec cannot
   * encode, or that a statement rejects as bad data (a `jsonb` column refusing `\u0000`,
   * say), fails on its own in the report.
   *
   * When `context.signal` aborts, no further statement starts (reconnect retries included):
   * before the first one it rejects with `signal.reason`; after it, the rows not inserted
   * are reported failed with that reason. A statement under way is waited for.
   *
   * @throws (rejects) when the database stays unreachable for `queryTimeout`, or the statement
   *   fails for a reason other than one row's data: the whole batch failed then.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closing !== null) {
      throw new ConnectorClosedError(`PostgreSQL connector ${this.tableName} is closed`);
    }
    const signal = context?.signal;
    signal?.throwIfAborted();
    const failed: DispatchFailure<P>[] = [];
    const rows = this.encodeRows(transactions, failed);
    const size = this.config.dispatchBatch;
    const record = (conflicts: readonly string[], chunk: readonly EncodedRow<P>[]): void => {
      if (conflicts.length === 0) return;
      const ids = new Set(conflicts);
      for (const row of chunk) {
        if (ids.has(row.transaction.id)) {
          failed.push({
            transaction: row.transaction,
            error: new DispatchConflictError(row.transaction.id, this.tableName),
          });
        }
      }
    };
    for (let start = 0; start < rows.length; start += size) {
      if (signal?.aborted === true) {
        if (start === 0) throw signal.reason as Error;
        for (const row of rows.slice(start)) {
          failed.push({ transaction: row.transaction, error: signal.reason });
        }
        break;
      }
      const chunk = rows.slice(start, start + size);
      try {
        record(await this.insert(chunk, signal), chunk);
      } catch (error) {
        if (!isDataError(error)) throw this.explained(error);
        for (const row of chunk) {
          try {
            record(await this.insert([row], signal), [row]);
          } catch (rowError) {
            if (!isDataError(rowError)) throw this.explained(rowError);
            failed.push({ transaction: row.transaction, error: rowError });
          }
        }
      }
    }
    return { failed };
  }

  /**
   * Inserts the transactions inside the caller's database transaction (`client` has run
   * `BEGIN`): they are queued when, and only if, it commits. The rows are the ones
   * {@link dispatch} writes (ordering key, `notBefore`, priority, trace headers); an id
   * already queued with the same payload is skipped. Nothing is retried here: a failure
   * belongs to the caller's transaction, which must roll back.
   *
   * @throws DispatchConflictError (rejects) when an id is queued (or given twice) with a
   *   different payload; the payload codec's error for a payload it cannot encode; the
   *   driver's error for a failed statement.
   */
  async dispatchWithin(
    client: pg.ClientBase,
    transactions: readonly Transaction<P>[],
  ): Promise<void> {
    const failed: DispatchFailure<P>[] = [];
    const rows = this.encodeRows(transactions, failed);
    const first = failed[0];
    if (first !== undefined) throw first.error;
    const size = this.config.dispatchBatch;
    for (let start = 0; start < rows.length; start += size) {
      const chunk = rows.slice(start, start + size);
      const result = await client.query<{ id: string }>(this.insertStatement(chunk));
      const conflict = result.rows[0];
      if (conflict !== undefined) throw new DispatchConflictError(conflict.id, this.tableName);
    }
  }

  /**
   * Acks a fetched transaction inside the caller's database transaction (`client` has run
   * `BEGIN`): the row is deleted when, and only if, it commits. Commit right after it
   * resolves; if the commit fails, the row's lease runs out and it is delivered again.
   *
   * @throws SettlementError (rejects) for a transaction this connector did not fetch, or
   *   settled already.
   * @throws DeliveryLostError (rejects) when the row is no longer leased to this connector
   *   (another consumer claimed it after the lease ran out): roll back, the other delivery
   *   is the one that counts.
   */
  async ackWithin(client: pg.ClientBase, transaction: Transaction<P>): Promise<void> {
    const lease = takeDelivery(this.held, transaction);
    if (lease === undefined) return notHeld(transaction);
    if (lease.lost !== null) throw new DeliveryLostError(lease.lost);
    const result = await client.query(this.statements.ack(leaseKeys([lease]), this.owner));
    if (result.rows.length > 0) {
      throw new DeliveryLostError(
        `row ${lease.id} is no longer leased to this consumer (its lease expired and it was claimed again)`,
      );
    }
  }

  /** The queued row with this id (not claimed: settling it is an error), or `undefined`. */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(() => from(this.service.query<QueueRow>(this.statements.byId(id)))).pipe(
      map((result) => {
        const row = result.rows[0];
        return row === undefined ? undefined : rowTransaction(row, this.column, this.tableName);
      }),
    );
  }

  /** Rows waiting in the table: every row not under a live lease (delayed ones included). */
  count(): Observable<number> {
    return defer(() => from(this.service.query<{ count: number }>(this.statements.count()))).pipe(
      map((result) => result.rows[0]?.count ?? 0),
    );
  }

  /**
   * The dead table (`deadTable`) to list, show, redrive into this queue and purge; see
   * {@link PostgresDeadLetters}.
   */
  deadLetters(): PostgresDeadLetters<P> {
    return new PostgresDeadLetters(this.service, this.config);
  }

  /** The service's health (a live `SELECT 1`, the LISTEN connection), or `closed`. */
  health(): Observable<ConnectorHealth> {
    return serviceHealth(() => this.closing !== null, this.service);
  }

  /**
   * Stops: pending fetches complete empty, settlements already asked for are sent, rows
   * still leased (fetched, not settled) are released for other consumers, and an own service
   * is closed. Takes at most about two seconds; idempotent. Settling a released transaction
   * afterwards rejects with `DeliveryLostError`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const fetches = [...this.fetches.values()];
    for (const abort of this.fetches.keys()) abort.abort(new CancellationError('shutdown'));
    clearInterval(this.renewal);
    const leases: QueueLease[] = [];
    for (const lease of this.held.values()) {
      if (lease.lost !== null) continue;
      lease.lost = `connector ${this.tableName} was closed and released the row`;
      leases.push(lease);
    }
    await waitAtMost(
      Promise.all([this.settles.drain(), this.handBack(leases, 'release'), ...fetches]),
      closeBound,
    );
    if (this.wake !== null) this.service.unlisten(this.config.channel);
    if (this.ownsService) await this.service.close();
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const deadline = Date.now() + this.config.fetchWait;
      // Before the first wait there is no LISTEN yet: -1 makes that wait look again at once.
      let seen = this.wake?.sequence ?? -1;
      let rows = await this.claim(size, signal);
      while (rows.length === 0 && !signal.aborted) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        this.wake ??= this.service.listen(this.config.channel);
        const woken = await this.wake.wait(seen, remaining, signal);
        seen = this.wake.sequence;
        if (signal.aborted) break;
        rows = await this.claim(size, signal);
        if (!woken) break;
      }
      await this.handOut(subscriber, rows, signal);
    } catch (error) {
      if (signal.aborted) subscriber.complete();
      else subscriber.error(this.explained(error));
    }
  }

  /**
   * Claims rows and buries the poison ones among them (delivered `maxDeliveries` times
   * already); when every row it picked was poison, looks again.
   */
  private async claim(size: number, signal: AbortSignal): Promise<QueueRow[]> {
    const { maxDeliveries } = this.config;
    for (;;) {
      const { rows } = await this.service.retrying(
        () => this.service.query<QueueRow>(this.statements.claim(size, this.owner)),
        { signal },
      );
      if (!rows.some((row) => row.deliveries > maxDeliveries)) return rows;
      const healthy = rows.filter((row) => row.deliveries <= maxDeliveries);
      try {
        await this.bury(
          rows.filter((row) => row.deliveries > maxDeliveries),
          signal,
        );
      } catch (error) {
        await this.handBack(leasesOf(healthy, Date.now() + this.config.lease), 'unclaim');
        throw error;
      }
      if (healthy.length > 0) return healthy;
    }
  }

  /**
   * Moves just-claimed poison rows to the dead table. A row it could not move stays leased
   * to this connector until the lease ends; then the next claim finds it poison again.
   */
  private async bury(rows: readonly QueueRow[], signal: AbortSignal): Promise<void> {
    const query = this.statements.bury(leaseKeys(rows), this.owner);
    await this.service.retrying(() => this.service.query(query), {
      signal,
      deadline: Date.now() + this.config.lease,
    });
  }

  /**
   * Emits the claimed rows while the fetch is wanted and completes; then hands the rest back
   * undelivered.
   */
  private async handOut(
    subscriber: Subscriber<Transaction<P>>,
    rows: readonly QueueRow[],
    signal: AbortSignal,
  ): Promise<void> {
    const until = Date.now() + this.config.lease;
    let index = 0;
    for (; index < rows.length && !subscriber.closed && !signal.aborted; index++) {
      const row = rows[index] as QueueRow;
      const transaction = rowTransaction(row, this.column, this.tableName);
      this.held.set(transaction, { id: row.id, deliveries: row.deliveries, until, lost: null });
      subscriber.next(transaction);
    }
    subscriber.complete();
    if (index < rows.length) await this.handBack(leasesOf(rows.slice(index), until), 'unclaim');
  }

  /** Releases leases (or undoes claims never handed out) in one statement; never rejects. */
  private async handBack(leases: readonly QueueLease[], how: 'release' | 'unclaim'): Promise<void> {
    if (leases.length === 0) return;
    const keys = leaseKeys(leases);
    const query =
      how === 'release'
        ? this.statements.release(keys, this.owner, this.config.releaseDelay)
        : this.statements.unclaim(keys, this.owner);
    let deadline = Date.now() + this.config.lease;
    if (this.closing !== null) deadline = Math.min(deadline, Date.now() + closeBound);
    await this.service
      .retrying(() => this.service.query(query), { deadline })
      .catch(() => undefined);
  }

  /** Extends the leases of every held row; rows this connector lost are marked lost. */
  private renewLeases(): void {
    if (this.renewing || this.held.size === 0 || this.closing !== null) return;
    const leases = [...this.held.values()].filter((lease) => lease.lost === null);
    if (leases.length === 0) return;
    this.renewing = true;
    const until = Date.now() + this.config.lease;
    this.service
      .query<{ id: string; deliveries: number }>(
        this.statements.renew(leaseKeys(leases), this.owner),
      )
      .then((result) => {
        const renewed = new Map(result.rows.map((row) => [row.id, row.deliveries]));
        for (const lease of leases) {
          if (renewed.get(lease.id) === lease.deliveries) lease.until = until;
          else if (lease.lost === null && this.closing === null) {
            lease.lost = `row ${lease.id} is no longer leased to this consumer (its lease expired and it was claimed again)`;
          }
        }
      })
      .catch(() => undefined)
      .finally(() => {
        this.renewing = false;
      });
  }

  /**
   * The rows to insert for `transactions`, one per id; a transaction that cannot be encoded,
   * or repeats an id with another payload, goes to `failed` instead.
   */
  private encodeRows(
    transactions: readonly Transaction<P>[],
    failed: DispatchFailure<P>[],
  ): EncodedRow<P>[] {
    const rows: EncodedRow<P>[] = [];
    const seen = new Map<string, EncodedRow<P>>();
    for (const transaction of transactions) {
      let row: EncodedRow<P>;
      try {
        const notBefore = notBeforeOf(transaction);
        row = {
          transaction,
          payload: this.column.encode(transaction.payload),
          headers: JSON.stringify({ ...headersOf(transaction), ...traceHeaders(transaction) }),
          key: queueKey(transaction) ?? null,
          notBefore: notBefore === undefined ? null : new Date(notBefore).toISOString(),
          priority: priorityOf(transaction) ?? null,
        };
      } catch (error) {
        failed.push({ transaction, error });
        continue;
      }
      const first = seen.get(transaction.id);
      if (first === undefined) {
        seen.set(transaction.id, row);
        rows.push(row);
      } else if (!samePayload(first.payload, row.payload)) {
        failed.push({
          transaction,
          error: new DispatchConflictError(
            transaction.id,
            `the same batch (for ${this.tableName})`,
          ),
        });
      }
    }
    return rows;
  }

  /**
   * Inserts rows in their order (a batch with keys in the statement that keeps it); resolves
   * with the ids queued already with a different payload.
   */
  private async insert(
    rows: readonly EncodedRow<P>[],
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const query = this.insertStatement(rows);
    const result = await this.service.retrying(() => this.service.query<{ id: string }>(query), {
      deadline: Date.now() + this.service.config.queryTimeout,
      ...(signal === undefined ? {} : { signal }),
    });
    return result.rows.map((row) => row.id);
  }

  /** The INSERT of `rows`, in their order (keyed or scheduled rows in the statement that keeps it). */
  private insertStatement(rows: readonly EncodedRow<P>[]): pg.QueryConfig<unknown[]> {
    const keyed = rows.some((row) => row.key !== null);
    const scheduled = rows.some((row) => row.notBefore !== null || row.priority !== null);
    return this.statements.insert(
      rows.map((row) => row.transaction.id),
      rows.map((row) => row.payload),
      rows.map((row) => row.headers),
      keyed ? rows.map((row) => row.key) : null,
      scheduled
        ? {
            notBefore: rows.map((row) => row.notBefore),
            priority: rows.map((row) => row.priority),
          }
        : null,
    );
  }

  /** A missing queue table gets an error that says what to do. */
  private explained(error: unknown): unknown {
    if ((error as { code?: unknown } | null)?.code !== undefinedTable) return error;
    return new PostgresQueueError(
      `queue table ${this.tableName} (or ${this.config.schema}.${this.config.deadTable}) does not exist: call migrate() first`,
      { cause: error },
    );
  }
}

/** Fresh leases of just-claimed rows, ending at `until`. */
function leasesOf(rows: readonly QueueRow[], until: number): QueueLease[] {
  return rows.map((row) => ({ id: row.id, deliveries: row.deliveries, until, lost: null }));
}

/** The string-valued `metadata.headers` of a transaction, to send along. */
function headersOf(transaction: Transaction): Record<string, string> {
  const headers = transaction.metadata['headers'];
  const result: Record<string, string> = {};
  if (!isPlainObject(headers)) return result;
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === 'string') result[key] = value;
  }
  return result;
}

/** A statement rejected one row's data (SQLSTATE class 22 or 23), not the connection or the SQL. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Whether two encoded payloads are the same (text, or bytes). */
function samePayload(a: string | Buffer, b: string | Buffer): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.equals(b);
}
