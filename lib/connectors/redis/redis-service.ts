import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectorHealth, Service } from '../../connector/connector.js';
import { describeError } from '../../core/describe-error.js';
import { backoffDelay } from '../../policy/backoff-delay.js';
import {
  redisServiceConfig,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';

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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
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

  /** @throws PolicyError when `input` is not a valid {@link RedisServiceConfigInput}. */
  constructor(input?: RedisServiceConfigInput | null) {
    this.config = redisServiceConfig(input);
    this.commands = this.connect(`${this.config.name}:commands`);
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
      await Promise.race([commands.quit().catch(() => undefined), sleep(quitGrace)]);
    }
    commands.disconnect();
  }

  private connect(connectionName: string): Redis {
    const { url, connectTimeout, reconnect } = this.config;
    const options: RedisOptions = {
      protocol: 2,
      connectionName,
      connectTimeout,
      maxRetriesPerRequest: null,
      retryStrategy: (times) => backoffDelay(reconnect, Math.max(0, times - 1)),
    };
    const connection = new Redis(url, options);
    connection.on('error', (error: unknown) => {
      this.lastError = error;
    });
    return connection;
  }
}
