import { Redis, type RedisOptions } from 'ioredis';
import log from 'loglevel';
import { ConnectionFailureLog, hostAndPort } from '../../core/connection-failures.js';
import { ConnectorClosedError } from '../../core/errors.js';
import type { ConnectorHealth, Service } from '../../core/connector.js';
import { describeError } from '../../core/renderers.js';
import type { Logger } from '../../core/logging.js';
import { backoffDelay } from '../../policy/backoff.js';
import {
  redisServiceConfig,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';
import { waitAtMost } from '../../core/waiting.js';

/** How long `close` lets the connections say goodbye (`QUIT`) before cutting them. */
const quitGrace = 1000;

/** A health state name for an ioredis connection status. */
function connectionState(status: string): string {
  switch (status) {
    case 'ready':
      return 'connected';
    case 'wait':
    case 'connecting':
    case 'connect':
      return 'connecting';
    case 'end':
      return 'closed';
    default:
      return 'reconnecting';
  }
}

/**
 * Owns the connections to one Redis server: a command connection shared by everything that
 * does not block (acks, dispatches, claims, scripts), plus one blocking-read connection per
 * consumer that asks for one. Every connection reconnects on its own after a drop, waiting
 * `reconnect` backoff between attempts (capped, reset once connected), forever; commands
 * issued meanwhile wait and are sent once it is back (the stream state lives in Redis, so an
 * ack sent after a reconnect is as good as before). Replies use RESP2.
 *
 * @example
 * ```ts
 * const service = new RedisService({ url: 'redis://127.0.0.1:6379' });
 * const orders = new RedisConnector({ stream: 'orders' }, service);
 * const invoices = new RedisConnector({ stream: 'invoices' }, service);
 * // … consume …
 * await orders.close(); await invoices.close(); await service.close();
 * ```
 */
export class RedisService implements Service {
  readonly config: RedisServiceConfig;
  /** The shared command connection. Do not block it (`BLOCK`, `BLPOP`, `SUBSCRIBE`…). */
  readonly commands: Redis;
  private readonly blocking = new Set<Redis>();
  private lastError: unknown = undefined;
  private closing: Promise<void> | null = null;
  /** The command connection's failed attempts, logged with back-off. */
  private readonly failures: ConnectionFailureLog;

  /**
   * @param options.logger where connection failures are reported (default: the loglevel
   * logger `ergon.redis`).
   * @throws PolicyError when `input` is not a valid {@link RedisServiceConfigInput}.
   */
  constructor(input?: RedisServiceConfigInput | null, options: { readonly logger?: Logger } = {}) {
    this.config = redisServiceConfig(input);
    this.failures = new ConnectionFailureLog(
      options.logger ?? log.getLogger('ergon.redis'),
      'Redis',
      hostAndPort(this.config.url, 6379),
    );
    this.commands = this.connect(`${this.config.name}:commands`, this.failures);
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Opens a connection for blocking reads, named `<name>:read:<label>` (spaces become `_`);
   * it closes with the service, or earlier with {@link closeConnection}.
   */
  openBlockingConnection(label: string): Redis {
    const connection = this.connect(`${this.config.name}:read:${label.replace(/\s/g, '_')}`);
    this.blocking.add(connection);
    return connection;
  }

  /** Closes a connection from {@link openBlockingConnection} now; its pending commands fail. */
  closeConnection(connection: Redis): void {
    this.blocking.delete(connection);
    connection.disconnect();
  }

  /**
   * Resolves once the command connection is ready (at once when it is). While the server was
   * never reached, rejects with a {@link ConnectionUnavailableError} naming the address and
   * the last failure when it is not ready within `connectTimeout` of its first failed attempt
   * (a fetch waits here, so a wrong address fails the fetch attempt instead of hanging it); a
   * server that was up is waited for as long as its reconnect takes. Rejects with a
   * {@link ConnectorClosedError} when the service closes meanwhile.
   */
  whenReady(): Promise<void> {
    const connection = this.commands;
    if (connection.status === 'ready' || this.closed) return Promise.resolve();
    const timeout = this.config.connectTimeout;
    const wait = this.failures.remainingWait(timeout);
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        connection.off('ready', ready);
        connection.off('end', ended);
      };
      const ready = (): void => {
        settle();
        resolve();
      };
      const ended = (): void => {
        settle();
        reject(
          new ConnectorClosedError('the Redis service closed while waiting for its connection'),
        );
      };
      // Never past `connectTimeout` since the first failed attempt while the server was never
      // reached: once it has been down that long, every fetch fails at once. A server that was
      // up is waited for (ioredis reconnects with back-off).
      const timer =
        wait === undefined
          ? undefined
          : setTimeout(() => {
              settle();
              reject(this.failures.unavailable(Math.max(timeout, this.failures.failingFor())));
            }, wait);
      connection.once('ready', ready);
      connection.once('end', ended);
    });
  }

  /** The command connection's state, with the last connection error as `detail` when not connected. */
  health(): ConnectorHealth {
    return this.healthOf(this.commands);
  }

  /** The state of `connection` (one of this service's), as {@link health} reports it. */
  healthOf(connection: Redis): ConnectorHealth {
    if (this.closed) return { healthy: false, state: 'closed' };
    const state = connectionState(connection.status);
    if (state === 'connected') return { healthy: true, state };
    return this.lastError === undefined
      ? { healthy: false, state }
      : { healthy: false, state, detail: describeError(this.lastError) };
  }

  /**
   * Closes every connection: `QUIT` when connected (pending replies arrive first), cut after
   * a second at most; commands still waiting for a reconnect fail. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const connection of this.blocking) connection.disconnect();
    this.blocking.clear();
    const commands = this.commands;
    if (commands.status === 'ready') {
      await waitAtMost(commands.quit(), quitGrace);
    }
    commands.disconnect();
  }

  /** Opens a connection; `failures` (the command connection's) logs its failed attempts. */
  private connect(connectionName: string, failures?: ConnectionFailureLog): Redis {
    const { url, connectTimeout, reconnect } = this.config;
    let lastError: unknown = undefined;
    const options: RedisOptions = {
      protocol: 2,
      connectionName,
      connectTimeout,
      maxRetriesPerRequest: null,
      retryStrategy: (times) => {
        const delay = backoffDelay(reconnect, Math.max(0, times - 1));
        if (lastError !== undefined && !this.closed) failures?.failed(lastError, delay);
        lastError = undefined;
        return delay;
      },
    };
    const connection = new Redis(url, options);
    connection.on('error', (error: unknown) => {
      this.lastError = error;
      lastError = error;
    });
    if (failures !== undefined) connection.on('ready', () => failures.connected());
    return connection;
  }
}
