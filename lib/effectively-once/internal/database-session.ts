import type pg from 'pg';
import { noop } from '../../core/waiting.js';
import { AttemptEndedError } from '../errors.js';

/**
 * The database handle a handler attempt gets as `ctx.db`: statements run inside the
 * transaction opened for the transaction being processed, under the attempt's SAVEPOINT.
 * After the attempt ended (returned, threw, timed out, cancelled) every call rejects with
 * {@link AttemptEndedError}: a late write must not land in the next attempt.
 */
export interface TransactionDb {
  /**
   * Runs one statement (`text` with `$1…` placeholders and `values`, or a `pg` query
   * config) in the database transaction.
   *
   * @throws AttemptEndedError (rejects) once the attempt ended; the driver's error else.
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** One attempt's {@link TransactionDb}: usable until {@link close}. */
export class AttemptDatabase implements TransactionDb {
  private open = true;

  constructor(private readonly client: pg.ClientBase) {}

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.use((client) =>
      client.query<R>(
        typeof text === 'string' ? { text, values: values === undefined ? [] : [...values] } : text,
      ),
    );
  }

  /** Runs `work` on the client while the attempt lasts. */
  use<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (!this.open) {
      return Promise.reject(
        new AttemptEndedError(
          'ctx.db / ctx.outbox used after the handler attempt ended (it returned, threw, timed out or was cancelled): await every statement before returning, and stop on ctx.signal',
        ),
      );
    }
    return work(this.client);
  }

  close(): void {
    this.open = false;
  }
}

/** What {@link DatabaseSession} runs once, right after `BEGIN`: `false` means "seen before". */
export type SessionStart = (client: pg.ClientBase) => Promise<boolean>;

/**
 * The database transaction of one Ergon transaction, across all its handler attempts. It is
 * opened (`BEGIN`, then `start`) by the first attempt on a pooled connection it keeps until
 * settlement. Each attempt runs under a SAVEPOINT of its own: released when the attempt
 * succeeds, rolled back to when it fails, times out or is cancelled, so a retry starts from
 * what the stages before it wrote and never sees a failed attempt's writes. Attempts and the
 * final {@link commit} or {@link rollback} run one after the other (each waits for the
 * previous attempt's savepoint to be settled).
 */
export class DatabaseSession {
  private client: pg.PoolClient | null = null;
  private opening: Promise<pg.PoolClient> | null = null;
  private tail: Promise<void> = Promise.resolve();
  /** Why the connection can no longer be used, once it cannot. */
  private broken: unknown = undefined;
  private savepoints = 0;
  private seenBefore = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly start: SessionStart,
  ) {}

  /** Whether the database transaction was begun (an attempt ran). */
  get begun(): boolean {
    return this.client !== null;
  }

  /** Whether `start` found this transaction done before (the inbox holds its id). */
  get duplicate(): boolean {
    return this.seenBefore;
  }

  /**
   * Runs one handler attempt under a savepoint; `skip` instead when the transaction was done
   * before. Rejects with `signal.reason` when the signal aborted before the attempt began,
   * and with the failure of the savepoint's release (the connection died) after `run` succeeded.
   */
  async attempt<R>(
    signal: AbortSignal,
    run: (db: AttemptDatabase) => R | PromiseLike<R>,
    skip: () => R,
  ): Promise<R> {
    await this.tail;
    this.throwIfBroken();
    signal.throwIfAborted();
    const client = await this.open();
    if (this.seenBefore) return skip();
    const savepoint = `ergon_attempt_${++this.savepoints}`;
    await this.run(client, `SAVEPOINT ${savepoint}`);
    const db = new AttemptDatabase(client);
    let ended = false;
    const end = (succeeded: boolean): Promise<void> => {
      if (ended) return this.tail;
      ended = true;
      db.close();
      signal.removeEventListener('abort', onAbort);
      const statement = succeeded
        ? `RELEASE SAVEPOINT ${savepoint}`
        : `ROLLBACK TO SAVEPOINT ${savepoint}`;
      this.tail = this.run(client, statement).then(noop, noop);
      return this.tail;
    };
    const onAbort = (): void => void end(false);
    signal.addEventListener('abort', onAbort, { once: true });
    let result: R;
    try {
      result = await run(db);
    } catch (error) {
      await end(false);
      throw error;
    }
    if (ended) throw signal.reason;
    await end(true);
    this.throwIfBroken();
    return result;
  }

  /**
   * Ends the database transaction with `COMMIT`, after `before` ran in it (the queue's ack).
   * Rolls back instead, and rejects, when `before` or the connection failed.
   */
  async commit(before?: (client: pg.ClientBase) => Promise<void>): Promise<void> {
    const client = await this.settled();
    try {
      this.throwIfBroken();
      if (before !== undefined) await before(client);
      await this.run(client, 'COMMIT');
      this.throwIfBroken();
    } catch (error) {
      await this.run(client, 'ROLLBACK').catch(noop);
      throw error;
    } finally {
      this.finish(client);
    }
  }

  /** Ends the database transaction with `ROLLBACK`: none of its writes remain. */
  async rollback(): Promise<void> {
    const client = await this.settled();
    await this.run(client, 'ROLLBACK').catch(noop);
    this.finish(client);
  }

  /** The client once the last attempt's savepoint was settled. */
  private async settled(): Promise<pg.PoolClient> {
    await this.tail;
    if (this.client === null) throw new Error('database session was never begun');
    return this.client;
  }

  private finish(client: pg.PoolClient): void {
    this.client = null;
    client.release(this.broken instanceof Error ? this.broken : undefined);
  }

  private open(): Promise<pg.PoolClient> {
    this.opening ??= this.connect().catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  private async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      this.seenBefore = !(await this.start(client));
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    this.client = client;
    return client;
  }

  /** Runs a statement; a failure makes the session unusable (the transaction is aborted). */
  private async run(client: pg.ClientBase, statement: string): Promise<void> {
    try {
      await client.query(statement);
    } catch (error) {
      this.broken ??= error;
      throw error;
    }
  }

  private throwIfBroken(): void {
    // The driver's own error, passed on unchanged (a re-throw).
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (this.broken !== undefined) throw this.broken;
  }
}
