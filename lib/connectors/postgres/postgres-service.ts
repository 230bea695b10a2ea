import pg from 'pg';
import { ConnectorClosedError } from '../../core/errors.js';
import type { ConnectorHealth, Service } from '../../core/connector.js';
import { describeError } from '../../core/renderers.js';
import { backoffDelay } from '../../policy/backoff.js';
import { NotificationListener, type WakeSignal } from './internal/notification-listener.js';
import {
  postgresConnectionConfig,
  type PostgresConnectionConfig,
  type PostgresConnectionConfigInput,
} from './postgres-connection-config.js';
import { isTransientPostgresError } from './errors.js';
import log from 'loglevel';
import {
  ConnectionFailureLog,
  connectionErrorCode,
  hostAndPort,
} from '../../core/connection-failures.js';
import type { Logger } from '../../core/logging.js';
import { noop, sleep, waitAtMost } from '../../core/waiting.js';

/** How long `close()` waits for the pool and the LISTEN connection before it gives up on them. */
const closeBound = 2000;

/** When {@link PostgresService.retrying} gives up on a transient failure. */
export interface RetryLimit {
  /** Stop (rejecting with the signal's reason) when this aborts. */
  readonly signal?: AbortSignal;
  /** Stop (rejecting with the last error) when the next attempt would start after this time (ms since the epoch). */
  readonly deadline?: number;
}

/**
 * Owns the PostgreSQL protocol for connectors and tasks: a `pg.Pool` for statements, one
 * dedicated LISTEN connection that wakes waiting fetches (reconnected with capped backoff
 * when it drops), and the retry of statements that failed because their connection died.
 * Share one service between several connectors (and your own queries, through `pool`) to
 * share its connections.
 *
 * @example
 * ```ts
 * const service = new PostgresService({ url: 'postgres://app@db/jobs', applicationName: 'billing' });
 * const orders = new PostgresConnector({ table: 'orders' }, { service });
 * const invoices = new PostgresConnector({ table: 'invoices' }, { service });
 * await service.pool.query('select 1');
 * await Promise.all([orders.close(), invoices.close()]);
 * await service.close();
 * ```
 */
export class PostgresService implements Service {
  readonly config: PostgresConnectionConfig;
  /** The statement pool: use it for your own queries too. */
  readonly pool: pg.Pool;
  private readonly listener: NotificationListener;
  private reconnecting = false;
  private lastError: unknown = undefined;
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;
  /** Failed attempts to reach the server, logged with back-off. */
  private readonly failures: ConnectionFailureLog;

  /**
   * @param options.logger where connection failures are reported (default: the loglevel
   * logger `ergon.postgres`).
   * @throws PolicyError when `input` is not a valid {@link PostgresConnectionConfigInput}.
   */
  constructor(
    input?: PostgresConnectionConfigInput | null,
    options: { readonly logger?: Logger } = {},
  ) {
    this.config = postgresConnectionConfig(input);
    this.failures = new ConnectionFailureLog(
      options.logger ?? log.getLogger('ergon.postgres'),
      'PostgreSQL',
      postgresAddress(this.config.url),
    );
    const clientConfig: pg.ClientConfig = {
      ...(this.config.url === null ? {} : { connectionString: this.config.url }),
      application_name: this.config.applicationName,
      connectionTimeoutMillis: this.config.connectTimeout,
      query_timeout: this.config.queryTimeout,
      keepAlive: true,
    };
    this.pool = new pg.Pool({ ...clientConfig, max: this.config.poolSize });
    // An idle pooled connection died (pg_terminate_backend, restart): the pool drops it and
    // opens a new one on demand. Without a listener the error would crash the process.
    this.pool.on('error', (error) => this.failed(error));
    this.listener = new NotificationListener(clientConfig, this.config.reconnect);
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed !== null;
  }

  /**
   * Runs one statement on a pooled connection and records whether the connection worked.
   *
   * @throws ConnectorClosedError after `close()`; else whatever the driver throws.
   */
  async query<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    if (this.isClosed) throw new ConnectorClosedError('PostgreSQL service is closed');
    try {
      const result = await this.pool.query<R>(query);
      this.reconnecting = false;
      this.failures.connected();
      return result;
    } catch (error) {
      if (isTransientPostgresError(error)) this.failed(error);
      throw error;
    }
  }

  /**
   * Runs `operation` until it succeeds, retrying transient failures (a dropped or refused
   * connection, see {@link isTransientPostgresError}) after the `reconnect` backoff. Any other
   * error, `close()`, an aborted `limit.signal` or a passed `limit.deadline` ends the retries.
   * Without a deadline, a server never reached ends them `connectTimeout` after its first
   * failed attempt with a {@link ConnectionUnavailableError} naming its address; a server that
   * was up is retried until it is back (a restart or failover of any length). Failed
   * connection attempts are logged at `warn` (the first, then with back-off).
   */
  async retrying<T>(operation: () => Promise<T>, limit: RetryLimit = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!isTransientPostgresError(error) || this.isClosed) throw error;
        const delay = backoffDelay(this.config.reconnect, attempt);
        const unreachable = connectionErrorCode(error) !== undefined;
        if (unreachable) this.failures.failed(error, delay);
        if (limit.deadline !== undefined && Date.now() + delay >= limit.deadline) throw error;
        if (limit.deadline === undefined && unreachable) {
          const wait = this.failures.remainingWait(this.config.connectTimeout);
          if (wait !== undefined && delay >= wait) {
            const failing = this.failures.failingFor();
            throw this.failures.unavailable(Math.max(failing, this.config.connectTimeout));
          }
        }
        await this.pause(delay, limit.signal);
      }
    }
  }

  /**
   * Runs `work` in a transaction on one pooled connection: `BEGIN`, then `COMMIT` when it
   * resolves or `ROLLBACK` when it rejects.
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.isClosed) throw new ConnectorClosedError('PostgreSQL service is closed');
    const client = await this.pool.connect();
    let failure: unknown = undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failure = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(isTransientPostgresError(failure) ? (failure as Error) : undefined);
    }
  }

  /** The wake-ups of a NOTIFY channel (LISTENing from now on). Pair with {@link unlisten}. */
  listen(channel: string): WakeSignal {
    return this.listener.listen(channel);
  }

  /** Stops listening to `channel` once its last user called this. */
  unlisten(channel: string): void {
    this.listener.unlisten(channel);
  }

  /** A live check (`SELECT 1`) plus the state of the LISTEN connection. */
  async health(): Promise<ConnectorHealth> {
    if (this.isClosed) return { healthy: false, state: 'closed' };
    try {
      await this.query({ text: 'SELECT 1' });
    } catch (error) {
      return { healthy: false, state: 'reconnecting', detail: describeError(error) };
    }
    if (this.listener.state === 'reconnecting') {
      return {
        healthy: false,
        state: 'reconnecting',
        detail: `listener ${this.listener.describe()}`,
      };
    }
    return { healthy: true, state: 'connected', detail: `listener ${this.listener.describe()}` };
  }

  /** The state without a round trip: `connected`, `reconnecting` or `closed`. */
  get state(): 'connected' | 'reconnecting' | 'closed' {
    if (this.isClosed) return 'closed';
    return this.reconnecting || this.listener.state === 'reconnecting'
      ? 'reconnecting'
      : 'connected';
  }

  /** Why the last statement or connection failed, if one did. */
  get error(): unknown {
    return this.lastError;
  }

  /**
   * Ends retries and waits, closes the LISTEN connection and the pool (waiting at most 2 s
   * for statements still running). Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing.abort(new ConnectorClosedError('PostgreSQL service is closed'));
    await waitAtMost(Promise.all([this.listener.close(), this.pool.end().catch(noop)]), closeBound);
  }

  private failed(error: unknown): void {
    this.reconnecting = true;
    this.lastError = error;
  }

  /** Waits `ms`; rejects early with the abort reason of `signal` or of `close()`. */
  private pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const stop =
      signal === undefined ? this.closing.signal : AbortSignal.any([signal, this.closing.signal]);
    return sleep(ms, { signal: stop });
  }
}

/** `host:port` of the server (from the URL, else `PGHOST`/`PGPORT`), never credentials. */
function postgresAddress(url: string | null): string {
  if (url !== null) {
    const address = hostAndPort(url, 5432);
    if (!address.startsWith('(')) return address;
  }
  const host = process.env['PGHOST'];
  return `${host === undefined || host === '' ? 'localhost' : host}:${process.env['PGPORT'] ?? 5432}`;
}
