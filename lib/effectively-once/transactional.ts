import type { Observable, ObservableInput } from 'rxjs';
import {
  awaitEventually,
  type Connector,
  type ConnectorHealth,
  type DispatchContext,
  type DispatchReport,
  type Eventually,
  type FetchRequest,
} from '../core/connector.js';
import { DeliveryLostError, ErgonError, type TransactionError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { Outcome, SettleDecision } from '../core/outcome.js';
import type { Transaction } from '../core/transaction.js';
import { consume, type ConsumeOptions } from '../engine/consume.js';
import type { HandlerContext } from '../engine/handler-context.js';
import { consumerTask } from '../engine/task-definition.js';
import type { ConsumerPolicyInput } from '../policy/consumer-policy.js';
import { PostgresConnector } from '../connectors/postgres/postgres-connector.js';
import { describeError } from '../core/renderers.js';
import { EffectivelyOnceError } from './errors.js';
import type { Inbox } from './inbox.js';
import {
  type AttemptDatabase,
  DatabaseSession,
  type SessionStart,
  type TransactionDb,
} from './internal/database-session.js';

export type { TransactionDb } from './internal/database-session.js';

/** Where `ctx.outbox.send` writes: outbound transactions queued in the handler's database transaction. */
export interface Outbox<O = unknown> {
  /**
   * Queues `transactions` in the outbox table inside the handler's database transaction:
   * they exist (and the relay publishes them) only if it commits. A failed or cancelled
   * attempt's sends are rolled back with it. Give `metadata.key` for order per key.
   *
   * @throws EffectivelyOnceError (rejects) when no `outbox` was given to {@link transactional}.
   * @throws AttemptEndedError (rejects) once the attempt ended.
   * @throws DispatchConflictError (rejects) for an id queued already with another payload.
   */
  send(transactions: readonly Transaction<O>[]): Promise<void>;
}

/** What a transactional handler receives: the usual context, `db` and `outbox`. */
export interface TransactionalContext<S = unknown, O = unknown> extends HandlerContext<S> {
  /** Statements inside the database transaction that commits with the settlement. */
  readonly db: TransactionDb;
  /** Outbound transactions, queued in the same database transaction. */
  readonly outbox: Outbox<O>;
}

/**
 * The handlers of a transactional consumer: like a `consumerTask` with `process` (batches
 * are not supported: each transaction has a database transaction of its own), each handler
 * returning a value or a Promise (not an Observable).
 */
export interface TransactionalTaskDefinition<P, R, S = undefined, O = unknown> {
  readonly name?: string;
  readonly services?: S;
  readonly logger?: Logger;
  /** The ordering key, as for `consumerTask`. */
  key?(transaction: Transaction<P>): string | undefined;
  process(transaction: Transaction<P>, context: TransactionalContext<S, O>): R | PromiseLike<R>;
  onSuccess?(transaction: Transaction<P>, result: R, context: TransactionalContext<S, O>): unknown;
  onException?(
    transaction: Transaction<P>,
    error: TransactionError,
    context: TransactionalContext<S, O>,
  ): unknown;
}

/** What {@link transactional} is given besides the connector. */
export interface TransactionalOptions<O = unknown> {
  /**
   * Skips transactions whose id it recorded before (required for any connector other than
   * {@link PostgresConnector}; optional with it).
   */
  readonly inbox?: Inbox;
  /** The PostgreSQL queue `ctx.outbox.send` writes to (in the handlers' database). */
  readonly outbox?: PostgresConnector<O>;
}

/**
 * Runs consumers whose database writes and settlement commit together. See
 * {@link transactional}.
 */
export class TransactionalConsumer<P, O = unknown> {
  private readonly settlement: TransactionalSettlement<P, O>;

  constructor(connector: Connector<P>, options: TransactionalOptions<O>) {
    this.settlement = new TransactionalSettlement(connector, options);
  }

  /**
   * Consumes the connector with `definition`'s handlers under `policy`, as
   * `consume(connector, consumerTask(…), policy, options)` does, each transaction in a
   * database transaction of its own that commits with its ack. A transaction the inbox
   * holds already is acked without running a handler (its outcome is a success with value
   * `undefined`).
   *
   * @throws TaskDefinitionError when a handler is missing or not a function.
   * @throws EffectivelyOnceError for a `processBatch` definition.
   */
  consume<R, S = undefined>(
    definition: TransactionalTaskDefinition<P, R, S, O>,
    policy?: ConsumerPolicyInput,
    options?: ConsumeOptions,
  ): Observable<Outcome<P, R | undefined>> {
    return consume(this.settlement, this.settlement.task(definition), policy, options);
  }

  /** Deletes expired inbox rows now and stops the inbox's expiry timer; closes nothing else. */
  close(): Promise<void> {
    return this.settlement.stop();
  }
}

/**
 * Effectively-once consumption: every transaction gets a database transaction, opened for
 * it on the first handler attempt; its handlers write through `ctx.db` (and queue outbound
 * transactions through `ctx.outbox.send`), and it commits only together with the ack.
 *
 * - With a {@link PostgresConnector}, the queue row's DELETE (the ack) runs in that database
 *   transaction: a crash anywhere before COMMIT leaves neither the writes nor the ack, and
 *   the row comes back when its lease runs out.
 * - With any other connector, give an `inbox`: the transaction's id is recorded in it inside
 *   the database transaction, which commits before the broker ack. A redelivery (the ack was
 *   lost to a crash or a dropped connection) finds its id and is acked without running a
 *   handler.
 *
 * Each handler attempt runs under a SAVEPOINT: a failed, timed-out or cancelled attempt's
 * writes are rolled back before the next attempt (or the exception handler) runs. A
 * transaction that is dead-lettered or released leaves no writes at all (docs/effectively-once.md).
 *
 * Each in-flight transaction holds one pooled connection until it settles: give the pool
 * more connections than `loop.concurrency` (the queue's own statements need some too).
 *
 * @example
 * ```ts
 * const orders = new PostgresConnector({ connection: { url, poolSize: 20 }, table: 'orders' });
 * const outbox = new PostgresConnector({ connection: { url }, table: 'orders_outbox' });
 * transactional(orders, { outbox })
 *   .consume({
 *     process: async (tx: Transaction<Order>, { db, outbox }) => {
 *       await db.query('INSERT INTO shipments (order_id) VALUES ($1)', [tx.id]);
 *       await outbox.send([createTransaction({ shipped: tx.id }, { id: `shipped-${tx.id}` })]);
 *     },
 *   }, { loop: { concurrency: { value: 8 } } })
 *   .subscribe();
 * ```
 * @throws EffectivelyOnceError when `connector` is not a `PostgresConnector` and no `inbox`
 *   was given.
 */
export function transactional<P, O = unknown>(
  connector: Connector<P>,
  options: TransactionalOptions<O> = {},
): TransactionalConsumer<P, O> {
  return new TransactionalConsumer(connector, options);
}

/** The connector `consume` sees: settlement commits (or rolls back) the database transaction first. */
class TransactionalSettlement<P, O> implements Connector<P> {
  readonly system: string | undefined;
  readonly destination: string | undefined;
  readonly scheduling: Connector<P>['scheduling'];
  private readonly sessions = new Map<Transaction<P>, DatabaseSession>();
  private readonly queue: PostgresConnector<P> | null;
  private readonly start: (client: Parameters<SessionStart>[0], id: string) => Promise<boolean>;
  private readonly expiry: NodeJS.Timeout | null;

  constructor(
    private readonly inner: Connector<P>,
    private readonly options: TransactionalOptions<O>,
  ) {
    this.system = inner.system;
    this.destination = inner.destination;
    this.scheduling = inner.scheduling;
    this.queue = inner instanceof PostgresConnector ? (inner as PostgresConnector<P>) : null;
    const inbox = options.inbox;
    if (this.queue === null && inbox === undefined) {
      throw new EffectivelyOnceError(
        `transactional(): ${connectorName(inner)} cannot ack inside a database transaction; give an inbox (transactional(connector, { inbox: inbox(pool, { table }) })) so a redelivery is recognised and skipped`,
      );
    }
    if (typeof inner.settle !== 'function') {
      throw new EffectivelyOnceError(
        `transactional(): ${connectorName(inner)} has no settle(); effectively-once needs a connector that acks`,
      );
    }
    this.start =
      inbox === undefined ? () => Promise.resolve(true) : (client, id) => inbox.record(client, id);
    this.expiry = inbox === undefined ? null : inbox.startExpiry();
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return this.inner.fetch(request);
  }

  dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Eventually<DispatchReport<P> | void> {
    if (this.inner.dispatch === undefined) {
      throw new EffectivelyOnceError(`${connectorName(this.inner)} cannot dispatch`);
    }
    return this.inner.dispatch(transactions, context);
  }

  health(): ObservableInput<ConnectorHealth> {
    return this.inner.health?.() ?? [{ healthy: true, state: 'connected' }];
  }

  async settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const session = this.sessions.get(transaction);
    this.sessions.delete(transaction);
    if (session === undefined || !session.begun) {
      await awaitEventually(this.inner.settle?.(transaction, decision));
      return;
    }
    if (decision.type !== 'ack' || session.duplicate) {
      await session.rollback();
      await awaitEventually(this.inner.settle?.(transaction, decision));
      return;
    }
    const queue = this.queue;
    if (queue !== null) {
      await session
        .commit((client) => queue.ackWithin(client, transaction))
        .catch((error: unknown) => {
          throw lostDelivery(error);
        });
      return;
    }
    try {
      await session.commit();
    } catch (error) {
      // Nothing was committed (or it is unknown whether it was): hand the transaction back;
      // if the commit did happen, the inbox skips the redelivery.
      await awaitEventually(
        this.inner.settle?.(transaction, { type: 'release', reason: 'connectionLost' }),
      );
      throw lostDelivery(error);
    }
    await awaitEventually(this.inner.settle?.(transaction, decision));
  }

  close(): Promise<void> {
    return this.stop()
      .then(() => awaitEventually(this.inner.close?.()))
      .then(() => undefined);
  }

  /** Stops the inbox expiry timer. */
  stop(): Promise<void> {
    if (this.expiry !== null) clearInterval(this.expiry);
    return Promise.resolve();
  }

  /** The handlers, wrapped: each attempt in a savepoint of the transaction's session. */
  task<R, S>(definition: TransactionalTaskDefinition<P, R, S, O>) {
    if ((definition as { processBatch?: unknown }).processBatch !== undefined) {
      throw new EffectivelyOnceError(
        'transactional consumers take process, not processBatch: each transaction commits in a database transaction of its own',
      );
    }
    const { process, onSuccess, onException, key } = definition;
    return consumerTask<P, R | undefined, S>({
      ...(definition.name === undefined ? {} : { name: definition.name }),
      ...(definition.services === undefined ? {} : { services: definition.services }),
      ...(definition.logger === undefined ? {} : { logger: definition.logger }),
      ...(key === undefined ? {} : { key: (transaction) => key.call(definition, transaction) }),
      process: (transaction, context) =>
        this.inSession(transaction, context, (inner) =>
          process.call(definition, transaction, inner),
        ),
      ...(onSuccess === undefined
        ? {}
        : {
            onSuccess: (
              transaction: Transaction<P>,
              result: R | undefined,
              context: HandlerContext<S>,
            ) =>
              this.inSession(transaction, context, (inner) =>
                onSuccess.call(definition, transaction, result as R, inner),
              ),
          }),
      ...(onException === undefined
        ? {}
        : {
            onException: (
              transaction: Transaction<P>,
              error: TransactionError,
              context: HandlerContext<S>,
            ) =>
              this.inSession(transaction, context, (inner) =>
                onException.call(definition, transaction, error, inner),
              ),
          }),
    });
  }

  /** Runs one handler attempt in the transaction's session (skipped for a duplicate). */
  private inSession<S, T>(
    transaction: Transaction<P>,
    context: HandlerContext<S>,
    run: (context: TransactionalContext<S, O>) => T | PromiseLike<T>,
  ): Promise<T | undefined> {
    return this.sessionOf(transaction).attempt<T | undefined>(
      context.signal,
      (db) => run(this.contextOf(context, db)),
      () => undefined,
    );
  }

  private sessionOf(transaction: Transaction<P>): DatabaseSession {
    let session = this.sessions.get(transaction);
    if (session === undefined) {
      const pool = this.queue?.service.pool ?? this.options.inbox?.pool;
      if (pool === undefined) throw new EffectivelyOnceError('no database pool'); // unreachable: checked in the constructor
      session = new DatabaseSession(pool, (client) => this.start(client, transaction.id));
      this.sessions.set(transaction, session);
    }
    return session;
  }

  private contextOf<S>(
    context: HandlerContext<S>,
    db: AttemptDatabase,
  ): TransactionalContext<S, O> {
    const outbox = this.options.outbox;
    return {
      signal: context.signal,
      attempt: context.attempt,
      stage: context.stage,
      services: context.services,
      logger: context.logger,
      db,
      outbox: {
        send: (transactions) =>
          outbox === undefined
            ? Promise.reject(
                new EffectivelyOnceError(
                  'ctx.outbox.send: no outbox was given; pass transactional(connector, { outbox: new PostgresConnector({ table: … }) })',
                ),
              )
            : db.use((client) => outbox.dispatchWithin(client, transactions)),
      },
    };
  }
}

/** A failed commit as the engine understands it: the delivery is lost and comes again. */
function lostDelivery(error: unknown): unknown {
  if (error instanceof ErgonError) return error;
  return new DeliveryLostError(
    `the database transaction did not commit (${describeError(error)}); the transaction is delivered again`,
    { cause: error },
  );
}

function connectorName(connector: Connector): string {
  const parts = [connector.system, connector.destination].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return parts.length === 0 ? 'this connector' : `the ${parts.join(' ')} connector`;
}
