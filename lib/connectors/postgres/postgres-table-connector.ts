import { defer, type Observable, type Subscriber } from 'rxjs';
import { CancellationError, ConnectorClosedError, DeliveryLostError } from '../../core/errors.js';
import type {
  Connector,
  ConnectorHealth,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import type { SettleDecision } from '../../core/outcome.js';
import { PayloadDecodeError } from '../../core/payload-codec.js';
import { describeError } from '../../core/renderers.js';
import { createTransaction, markUndecodable, type Transaction } from '../../core/transaction.js';
import { noop, waitAtMost } from '../../core/waiting.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { PostgresTableError } from './errors.js';
import {
  describeTable,
  TableStatements,
  type TableClaimToken,
  type TableShape,
} from './internal/table-statements.js';
import { connectorService, workerOwner } from './internal/connector-service.js';
import type { PostgresService } from './postgres-service.js';
import { serviceHealth, trackedFetch, type FetchesUnderWay } from './internal/tracked-fetch.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';
import {
  postgresTableConfig,
  type PostgresTableConfig,
  type PostgresTableConfigInput,
  type TableSettlement,
} from './postgres-table-config.js';

/** The metadata of a transaction fetched by a {@link PostgresTableConnector}. */
export type TableRowMetadata = {
  /** `schema.table`. */
  readonly table: string;
  /** When the claim expires unless renewed (ISO 8601): the connector renews it while the row is held. */
  readonly leaseUntil: string;
};

/** Options of a {@link PostgresTableConnector}. */
export interface PostgresTableConnectorOptions {
  /** A service to share (its pool); the connector then does not close it. */
  readonly service?: PostgresService;
}

/** How long `close()` gives its last statements (settlements, releases). */
const closeBound = 1500;

/** A held row: its fence, and why it was lost (its claim expired, the connector closed). */
interface HeldRow {
  readonly token: TableClaimToken;
  lost: string | null;
}

/** A settlement waiting for the statement of its turn. */
interface PendingSettle {
  readonly row: HeldRow;
  readonly error: string | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Processes the rows of a table you own (orders, invoices, an import table): the table
 * mode of the PostgreSQL connector. `fetch` claims rows with `FOR UPDATE SKIP LOCKED` and
 * marks them claimed — a status column moved from `ready` to `claimed`, or a lock column set
 * to this claim's token — under a lease that the connector renews while the row is held;
 * rows of a worker that crashed come back when their lease expires. `settle` applies your
 * `ack` or `deadLetter` settlement (`delete`, `{ set }`, or your `{ sql }`) and `release`
 * frees the row. Every statement is fenced by what the claim wrote, so a row whose claim
 * expired and was claimed again is never settled twice; identifiers are quoted and values
 * bound. `dispatch` inserts payloads as rows.
 *
 * @example
 * ```ts
 * const invoices = new PostgresTableConnector({
 *   connection: { url: 'postgres://app@db/billing' },
 *   table: 'invoices',
 *   where: "due_date <= current_date",
 *   claim: { statusColumn: 'state', leaseColumn: 'claimed_until', ready: 'open', claimed: 'sending' },
 *   settle: { ack: { set: { state: 'sent' } }, deadLetter: { set: { state: 'failed' }, errorColumn: 'error' } },
 * });
 * consume(invoices, consumerTask({ process: (tx) => send(tx.payload) })).subscribe();
 * ```
 */
export class PostgresTableConnector<P = Readonly<Record<string, unknown>>> implements Connector<P> {
  readonly system = 'postgresql';
  readonly destination: string;
  readonly config: PostgresTableConfig<P>;
  readonly service: PostgresService;
  /** This connector's lock tokens start with it: host, pid and a random suffix. */
  readonly owner: string;
  private readonly ownsService: boolean;
  private shapeOf: Promise<TableShape> | null = null;
  private statements: Promise<TableStatements> | null = null;
  private readonly held = new Map<Transaction<P>, HeldRow>();
  private readonly pending = new Map<'ack' | 'deadLetter' | 'release', PendingSettle[]>();
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly fetches: FetchesUnderWay = new Map();
  private readonly renewal: NodeJS.Timeout;
  private renewing: Promise<void> | null = null;
  private claims = 0;
  private closing: Promise<void> | null = null;

  /**
   * @throws PolicyError when `input` is not a valid config, or has `connection` settings while
   *   `options.service` is given.
   */
  constructor(input: PostgresTableConfigInput<P>, options: PostgresTableConnectorOptions = {}) {
    this.config = postgresTableConfig(input);
    const { service, owned } = connectorService(
      'PostgreSQL table connector config',
      options.service,
      input.connection,
      this.config.connection,
    );
    this.service = service;
    this.ownsService = owned;
    this.owner = workerOwner();
    this.destination = `${this.config.schema}.${this.config.table}`;
    this.renewal = setInterval(
      () => {
        this.renewLeases();
      },
      Math.max(this.config.lease / 3, 10),
    );
    this.renewal.unref();
  }

  /**
   * Claims up to `request.size` rows (completing empty when none is ready: the policy's
   * `fetch.empty` backoff paces the polling). Connection failures are retried with the
   * `reconnect` backoff while the fetch is subscribed; rows claimed but not emitted when it
   * is unsubscribed are freed again.
   *
   * @throws PostgresTableError (errors the fetch) when the table or a configured column does
   *   not exist, or the lease column is not a `timestamptz`.
   */
  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return trackedFetch(
      this.fetches,
      () => (this.closing === null ? null : `PostgreSQL table ${this.destination} is closed`),
      (subscriber, signal) => this.fetchInto(subscriber, request.size, signal),
      new CancellationError('unsubscribe'),
    );
  }

  /**
   * `ack` and `deadLetter` apply the configured settlement, `release` frees the row (status
   * back to ready, or lock cleared) for any worker. Settlements of one event-loop turn share
   * a statement per kind (an `sql` settlement runs on its own, in a transaction).
   *
   * @throws SettlementError (rejects) for a transaction this connector did not fetch, or settled twice.
   * @throws DeliveryLostError (rejects) when the row is no longer claimed by this connector:
   *   its lease expired and another worker claimed it, it was changed or deleted meanwhile,
   *   or `close()` released it.
   */
  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const row = takeDelivery(this.held, transaction);
    if (row === undefined) return notHeld(transaction);
    if (row.lost !== null) return Promise.reject(new DeliveryLostError(row.lost));
    const error = decision.type === 'deadLetter' ? decision.error.message : null;
    const settlement = decision.type === 'release' ? null : this.config.settle[decision.type];
    if (settlement?.type === 'sql')
      return this.track(this.settleWithSql(row, settlement.sql, error));
    return new Promise<void>((resolve, reject) => {
      const list = this.pending.get(decision.type) ?? [];
      list.push({ row, error, resolve, reject });
      this.pending.set(decision.type, list);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Inserts each payload (a plain object of column → value) as a row, in one statement: all
   * rows or none. PostgreSQL converts each value to its column's type. With a status claim, a
   * row without a status gets `ready`. A payload that is not a plain object, or names a column
   * the table does not have, fails on its own in the report.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closing !== null) {
      throw new ConnectorClosedError(`PostgreSQL table ${this.destination} is closed`);
    }
    context?.signal.throwIfAborted();
    const statements = await this.prepared();
    const shape = await this.shape;
    const { claim } = this.config;
    const failed: DispatchFailure<P>[] = [];
    const rows: Record<string, unknown>[] = [];
    const columns = new Set<string>();
    for (const transaction of transactions) {
      const payload: unknown = transaction.payload;
      if (!isPlainObject(payload)) {
        failed.push({
          transaction,
          error: new PayloadDecodeError(
            `${transaction.id}: a row is a plain object of column → value, got ${typeof payload}`,
          ),
        });
        continue;
      }
      const unknown = Object.keys(payload).filter((column) => !shape.columns.has(column));
      if (unknown.length > 0) {
        failed.push({
          transaction,
          error: new PostgresTableError(
            `${transaction.id}: ${this.destination} has no column ${unknown.map((c) => JSON.stringify(c)).join(', ')}`,
          ),
        });
        continue;
      }
      const row: Record<string, unknown> = { ...payload };
      if (claim.type === 'status' && row[claim.statusColumn] == null) {
        row[claim.statusColumn] = claim.ready;
      }
      for (const column of Object.keys(row)) columns.add(column);
      rows.push(row);
    }
    if (rows.length > 0) {
      context?.signal.throwIfAborted();
      await this.service.retrying(() => this.service.query(statements.insert([...columns], rows)), {
        deadline: Date.now() + this.service.config.queryTimeout,
        ...(context === undefined ? {} : { signal: context.signal }),
      });
    }
    return { failed };
  }

  /** Rows that a claim would find now (ready, or claimed under an expired lease). */
  count(): Observable<number> {
    return defer(async () => {
      const statements = await this.prepared();
      const result = await this.service.query<{ count: number }>(statements.count());
      return result.rows[0]?.count ?? 0;
    });
  }

  /** The service's health (a live `SELECT 1`), or `closed`. */
  health(): Observable<ConnectorHealth> {
    return serviceHealth(() => this.closing !== null, this.service);
  }

  /**
   * Stops: pending fetches complete empty, settlements already asked for are written, rows
   * still held are released for other workers, and an own service is closed. Takes at most
   * about two seconds; idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private get shape(): Promise<TableShape> {
    this.shapeOf ??= this.describe();
    return this.shapeOf;
  }

  /** The statements for the table, once its columns were checked. */
  private prepared(): Promise<TableStatements> {
    this.statements ??= this.shape.then((shape) => new TableStatements(this.config, shape));
    this.statements.catch(() => {
      this.statements = null;
      this.shapeOf = null;
    });
    return this.statements;
  }

  private async describe(): Promise<TableShape> {
    const { config } = this;
    const { rows } = await this.service.retrying(() =>
      this.service.query<{ name: string; type: string }>(
        describeTable(config.schema, config.table),
      ),
    );
    if (rows.length === 0) {
      throw new PostgresTableError(
        `table ${this.destination} does not exist (or this user cannot see it): create it, or fix schema/table`,
      );
    }
    const columns = new Map(rows.map((row) => [row.name, row.type]));
    const { claim, settle } = config;
    const wanted: [string, string][] = [
      ['idColumn', config.idColumn],
      ['claim.leaseColumn', claim.leaseColumn],
      claim.type === 'status'
        ? ['claim.statusColumn', claim.statusColumn]
        : ['claim.lockColumn', claim.lockColumn],
      ...config.orderBy.map((column, index): [string, string] => [`orderBy[${index}]`, column]),
    ];
    for (const kind of ['ack', 'deadLetter'] as const) {
      const settlement = settle[kind];
      if (settlement.type !== 'update') continue;
      for (const column of Object.keys(settlement.set)) wanted.push([`settle.${kind}.set`, column]);
      if (settlement.errorColumn !== null) {
        wanted.push([`settle.${kind}.errorColumn`, settlement.errorColumn]);
      }
    }
    const missing = wanted.filter(([, column]) => !columns.has(column));
    if (missing.length > 0) {
      throw new PostgresTableError(
        `${this.destination} has no column ${missing.map(([path, column]) => `${JSON.stringify(column)} (${path})`).join(', ')}: ` +
          `add it (ALTER TABLE) or fix the config; its columns are ${[...columns.keys()].map((c) => JSON.stringify(c)).join(', ')}`,
      );
    }
    const leaseType = columns.get(claim.leaseColumn);
    if (leaseType !== 'timestamp with time zone') {
      throw new PostgresTableError(
        `lease column ${JSON.stringify(claim.leaseColumn)} of ${this.destination} is ${String(leaseType)}, not timestamptz: ` +
          `ALTER TABLE … ALTER COLUMN … TYPE timestamptz`,
      );
    }
    return { columns };
  }

  private async shutdown(): Promise<void> {
    const fetches = [...this.fetches.values()];
    for (const abort of this.fetches.keys()) abort.abort(new CancellationError('shutdown'));
    clearInterval(this.renewal);
    const rows: HeldRow[] = [];
    for (const row of this.held.values()) {
      if (row.lost !== null) continue;
      row.lost = `connector ${this.destination} was closed and released the row`;
      rows.push(row);
    }
    this.flush();
    await waitAtMost(
      Promise.all([...fetches, ...this.inFlight, this.free(rows.map((row) => row.token))]),
      closeBound,
    );
    if (this.ownsService) await this.service.close();
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    signal: AbortSignal,
  ): Promise<void> {
    let claimed: Record<string, unknown>[];
    let lock = '';
    try {
      const statements = await this.prepared();
      lock = `${this.owner}:${++this.claims}`;
      const query = statements.claim(size, this.config.lease, lock);
      ({ rows: claimed } = await this.service.retrying(
        () => this.service.query<Record<string, unknown>>(query),
        { signal },
      ));
    } catch (error) {
      if (signal.aborted) subscriber.complete();
      else subscriber.error(error);
      return;
    }
    const { idColumn, claim } = this.config;
    const tokenOf = (row: Record<string, unknown>): TableClaimToken => ({
      id: row[idColumn],
      lease: row[claim.leaseColumn] as Date,
      lock: claim.type === 'lock' ? lock : null,
    });
    let index = 0;
    for (; index < claimed.length && !subscriber.closed && !signal.aborted; index++) {
      const row = claimed[index] as Record<string, unknown>;
      const token = tokenOf(row);
      const transaction = this.rowTransaction(row, token);
      this.held.set(transaction, { token, lost: null });
      subscriber.next(transaction);
    }
    subscriber.complete();
    if (index < claimed.length) await this.free(claimed.slice(index).map(tokenOf));
  }

  private rowTransaction(row: Record<string, unknown>, token: TableClaimToken): Transaction<P> {
    const id = String(row[this.config.idColumn]);
    const metadata: TableRowMetadata = {
      table: this.destination,
      leaseUntil: token.lease.toISOString(),
    };
    const { decode } = this.config;
    if (decode === null) return createTransaction(row as P, { id, metadata });
    try {
      return createTransaction(decode(row), { id, metadata });
    } catch (error) {
      return markUndecodable(
        createTransaction(row as P, { id, metadata }),
        new PayloadDecodeError(
          `row ${id} of ${this.destination} could not be decoded: ${describeError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  /** Sends the settlements of this turn: one statement per kind. */
  private flush(): void {
    this.flushScheduled = false;
    for (const [kind, list] of this.pending) {
      this.pending.delete(kind);
      if (list.length === 0) continue;
      const settlement = kind === 'release' ? null : this.config.settle[kind];
      if (settlement?.type === 'sql') continue; // never queued: it runs on its own
      void this.track(this.settleBatch(settlement, list));
    }
  }

  private async settleBatch(
    settlement: Exclude<TableSettlement, { type: 'sql' }> | null,
    list: readonly PendingSettle[],
  ): Promise<void> {
    try {
      const statements = await this.prepared();
      await this.renewing;
      const tokens = list.map((entry) => entry.row.token);
      const query =
        settlement === null
          ? statements.release(tokens)
          : statements.settle(
              settlement,
              tokens,
              list.map((entry) => entry.error),
            );
      const { rows } = await this.service.retrying(
        () => this.service.query<{ id: string }>(query),
        { deadline: this.deadlineOf(tokens) },
      );
      const done = new Set(rows.map((row) => row.id));
      for (const entry of list) {
        if (done.has(String(entry.row.token.id))) entry.resolve();
        else entry.reject(new DeliveryLostError(this.lostMessage(entry.row.token)));
      }
    } catch (error) {
      for (const entry of list) entry.reject(error);
    }
  }

  /** Runs your `sql` settlement in a transaction, after checking the row is still claimed by this connector. */
  private async settleWithSql(row: HeldRow, sql: string, error: string | null): Promise<void> {
    const statements = await this.prepared();
    await this.renewing;
    const { token } = row;
    await this.service.retrying(
      () =>
        this.service.transaction(async (client) => {
          const fenced = await client.query(statements.lockFenced(token));
          if (fenced.rowCount === 0) throw new DeliveryLostError(this.lostMessage(token));
          await client.query(statements.userSettlement(sql, token.id, error));
          await client.query(statements.clearClaim(token));
        }),
      { deadline: this.deadlineOf([token]) },
    );
  }

  /** Frees claimed rows (status back to ready or lock cleared); never rejects. */
  private async free(tokens: readonly TableClaimToken[]): Promise<void> {
    if (tokens.length === 0) return;
    const statements = await this.prepared().catch(() => null);
    if (statements === null) return;
    let deadline = this.deadlineOf(tokens);
    if (this.closing !== null) deadline = Math.min(deadline, Date.now() + closeBound);
    await this.service
      .retrying(() => this.service.query(statements.release(tokens)), { deadline })
      .catch(noop);
  }

  /** Extends the lease of every held row; a row whose fence is gone is marked lost. */
  private renewLeases(): void {
    if (this.renewing !== null || this.held.size === 0 || this.closing !== null) return;
    const rows = [...this.held.values()].filter((row) => row.lost === null);
    if (rows.length === 0) return;
    this.renewing = (async () => {
      const statements = await this.prepared();
      const { rows: renewed } = await this.service.query<{ id: string; lease: Date }>(
        statements.renew(
          rows.map((row) => row.token),
          this.config.lease,
        ),
      );
      const leases = new Map(renewed.map((row) => [row.id, row.lease]));
      for (const row of rows) {
        const lease = leases.get(String(row.token.id));
        if (lease !== undefined) row.token.lease = lease;
        else if (row.lost === null && this.closing === null) row.lost = this.lostMessage(row.token);
      }
    })()
      .catch(noop)
      .finally(() => {
        this.renewing = null;
      });
  }

  /** Retry a settlement until the rows' leases end at the latest (after that they are someone else's). */
  private deadlineOf(tokens: readonly TableClaimToken[]): number {
    return Math.min(...tokens.map((token) => token.lease.getTime()));
  }

  private lostMessage(token: TableClaimToken): string {
    return (
      `row ${String(token.id)} of ${this.destination} is no longer claimed by this connector ` +
      '(its lease expired and it was claimed again, or it was changed or deleted meanwhile)'
    );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.catch(noop).finally(() => this.inFlight.delete(work));
    return work;
  }
}
