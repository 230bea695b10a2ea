import { connect, type Channel, type ChannelModel, type Options, type Replies } from 'amqplib';
import log from 'loglevel';
import { describeError } from '../../core/renderers.js';
import type { Logger } from '../../core/logging.js';
import { ConnectorClosedError } from '../../core/errors.js';
import type { ConnectorHealth, Service } from '../../core/connector.js';
import { backoffDelay } from '../../policy/backoff.js';
import { redactAmqpUrl } from './amqp-url.js';
import { waitAtMost } from '../../core/waiting.js';
import { ConfirmPublisher } from './internal/confirm-publisher.js';
import {
  rabbitmqConnectionConfig,
  type RabbitmqConnectionConfig,
  type RabbitmqConnectionConfigInput,
} from './rabbitmq-connection-config.js';
import { RabbitmqConnectionError, RabbitmqTopologyError } from './errors.js';
import { declareTopology, type RabbitmqTopology } from './internal/rabbitmq-topology.js';
import { ConnectionFailureLog, hostAndPort } from '../../core/connection-failures.js';

/**
 * Where a {@link RabbitmqService} stands: `idle` (not connected yet; it connects on first
 * use), `connecting`, `connected`, `reconnecting` (after a drop or a failed attempt, waiting
 * out the backoff), `failed` (the broker refused the credentials or vhost; the next use tries
 * again) or `closed`.
 */
export type RabbitmqConnectionState =
  'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** Options of a {@link RabbitmqService}. */
export interface RabbitmqServiceOptions {
  /** Where reconnects and drops are reported (default: the loglevel logger `ergon.rabbitmq`). */
  readonly logger?: Logger;
}

interface ConnectionWaiter {
  resolve(model: ChannelModel): void;
  reject(error: unknown): void;
}

/** How long closing a channel or the connection may take before it is abandoned. */
const closeBound = 1000;

/**
 * Owns one AMQP connection: connects lazily, reconnects after a drop or a failed attempt with
 * the capped exponential backoff of `reconnect`, declares topologies once per connection
 * (again after each reconnect), and publishes through one shared confirm channel. Share one
 * service between the connectors (and tasks) of a process.
 *
 * @example
 * ```ts
 * const rabbit = new RabbitmqService({ url: 'amqp://guest:guest@127.0.0.1:5672/' });
 * const orders = new RabbitmqConnector({ queue: 'orders' }, { service: rabbit });
 * const invoices = new RabbitmqConnector({ queue: 'invoices' }, { service: rabbit });
 * // …
 * await Promise.all([orders.close(), invoices.close()]);
 * await rabbit.close();
 * ```
 */
export class RabbitmqService implements Service {
  readonly config: RabbitmqConnectionConfig;
  private readonly logger: Logger;
  private model: ChannelModel | null = null;
  private connectionState: RabbitmqConnectionState = 'idle';
  private attempting = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private lastError: unknown = undefined;
  private blockedReason: string | null = null;
  private readonly waiters = new Set<ConnectionWaiter>();
  private publisher: Promise<ConfirmPublisher> | null = null;
  private readonly declared = new Map<string, Promise<void>>();
  private closing: Promise<void> | null = null;
  /** Failed connection attempts, logged with back-off. */
  private readonly failureLog: ConnectionFailureLog;

  constructor(
    config?: RabbitmqConnectionConfigInput | RabbitmqConnectionConfig | null,
    options: RabbitmqServiceOptions = {},
  ) {
    this.config = rabbitmqConnectionConfig(config);
    this.logger = options.logger ?? log.getLogger('ergon.rabbitmq');
    this.failureLog = new ConnectionFailureLog(
      this.logger,
      'RabbitMQ',
      hostAndPort(this.config.url, this.config.url.startsWith('amqps:') ? 5671 : 5672),
    );
  }

  /** The connection's state (see {@link RabbitmqConnectionState}). */
  get state(): RabbitmqConnectionState {
    return this.connectionState;
  }

  /**
   * The open connection, waiting for it (connecting first if needed) for at most `timeout`
   * milliseconds when given (at once when the broker has been unreachable that long already).
   *
   * @throws ConnectorClosedError after `close()`; RabbitmqConnectionError when the broker
   * refused the credentials or vhost, or when `timeout` ran out.
   */
  connection(timeout?: number): Promise<ChannelModel> {
    if (this.closing !== null) {
      return Promise.reject(new ConnectorClosedError('the RabbitMQ service is closed'));
    }
    if (this.model !== null) return Promise.resolve(this.model);
    if (!this.attempting && this.retryTimer === null) this.attempt();
    const wait = timeout === undefined ? undefined : this.failureLog.remainingWait(timeout);
    if (wait === 0) {
      // Never reached, for longer than the caller would wait: say so now (a fetch fails its
      // attempt instead of completing empty forever).
      const failing = this.failureLog.failingFor();
      return Promise.reject(
        new RabbitmqConnectionError(this.failureLog.unavailable(failing).message, {
          cause: this.lastError,
        }),
      );
    }
    return new Promise<ChannelModel>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: ConnectionWaiter = {
        resolve: (model) => {
          clearTimeout(timer);
          resolve(model);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      if (timeout !== undefined && wait !== undefined) {
        // Never past `timeout` since the first failed attempt: a broker never reached fails
        // every caller within that time, however late it came.
        timer = setTimeout(() => {
          this.waiters.delete(waiter);
          const waited = Math.max(timeout, this.failureLog.failingFor());
          reject(
            new RabbitmqConnectionError(this.failureLog.unavailable(waited).message, {
              cause: this.lastError,
            }),
          );
        }, wait);
      }
    });
  }

  /** Whether `model` is the connection in use (it is not once it dropped). */
  isCurrent(model: ChannelModel): boolean {
    return this.model === model;
  }

  /**
   * Declares `topology` on the current connection, once per connection: later calls share the
   * first one's result until a reconnect, or until {@link RabbitmqService.forget}.
   *
   * @throws RabbitmqTopologyError when the broker refuses a declaration.
   */
  declare(topology: RabbitmqTopology, model: ChannelModel): Promise<void> {
    const key = JSON.stringify(topology);
    let declared = this.declared.get(key);
    if (declared === undefined) {
      declared = this.withChannel(model, (channel) => declareTopology(channel, topology)).catch(
        (error: unknown) => {
          this.declared.delete(key);
          throw this.isCurrent(model) ? topologyError(topology, error) : error;
        },
      );
      this.declared.set(key, declared);
    }
    return declared;
  }

  /** Drops the cached declaration of `topology` (its queue was deleted, say). */
  forget(topology: RabbitmqTopology): void {
    this.declared.delete(JSON.stringify(topology));
  }

  /** The ready-message and consumer counts of `queue` (a passive declare). */
  async queueStatus(queue: string): Promise<Replies.AssertQueue> {
    const model = await this.connection(this.config.connectTimeout);
    return this.withChannel(model, (channel) => channel.checkQueue(queue));
  }

  /**
   * The shared confirm-mode publisher of the current connection, opened on first use and
   * again after its channel or connection closed. Waits at most `connectTimeout` for a
   * connection.
   */
  confirmPublisher(): Promise<ConfirmPublisher> {
    const pending = this.publisher;
    if (pending !== null) {
      return pending.then((publisher) => {
        if (publisher.usable) return publisher;
        if (this.publisher === pending) this.publisher = null;
        return this.confirmPublisher();
      });
    }
    const opened = this.connection(this.config.connectTimeout)
      .then((model) => model.createConfirmChannel())
      .then((channel) => new ConfirmPublisher(channel));
    this.publisher = opened;
    opened.catch(() => {
      if (this.publisher === opened) this.publisher = null;
    });
    return opened;
  }

  /** Publishes one message `mandatory` and resolves on the broker's confirm. */
  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    const publisher = await this.confirmPublisher();
    await publisher.publish(exchange, routingKey, content, options);
  }

  /** A snapshot for supervision: healthy while connected (or not connected yet). */
  health(): ConnectorHealth {
    const state = this.connectionState;
    if (state === 'connected' && this.blockedReason !== null) {
      return {
        healthy: true,
        state: 'blocked',
        detail: `publishing blocked: ${this.blockedReason}`,
      };
    }
    const healthy = state === 'connected' || state === 'idle' || state === 'connecting';
    const detail = healthy ? undefined : this.lastErrorText().replace(/^: /, '');
    return detail === undefined || detail === '' ? { healthy, state } : { healthy, state, detail };
  }

  /**
   * Closes the connection (channels included: the broker requeues their unacknowledged
   * messages) and stops reconnecting. Prompt: a broker that does not answer is abandoned after
   * about a second. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.connectionState = 'closed';
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.rejectWaiters(new ConnectorClosedError('the RabbitMQ service is closed'));
    const model = this.model;
    this.model = null;
    this.publisher = null;
    this.declared.clear();
    if (model !== null && !(await waitAtMost(model.close(), closeBound))) destroySocket(model);
  }

  private attempt(): void {
    this.attempting = true;
    this.connectionState =
      this.failures === 0 && this.lastError === undefined ? 'connecting' : 'reconnecting';
    this.open().then(
      (model) => this.adopt(model),
      (error: unknown) => this.attemptFailed(error),
    );
  }

  /** One connection attempt, bounded by `connectTimeout`; a late connection is closed. */
  private open(): Promise<ChannelModel> {
    const url = new URL(this.config.url);
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(Math.ceil(this.config.heartbeat / 1000)));
    }
    const timeout = this.config.connectTimeout;
    const opening = connect(url.toString(), {
      timeout,
      clientProperties: { connection_name: this.config.connectionName },
    });
    return new Promise<ChannelModel>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new RabbitmqConnectionError(`connecting timed out after ${timeout} ms`));
      }, timeout);
      opening.then(
        (model) => {
          clearTimeout(timer);
          if (settled) {
            discard(model);
            return;
          }
          settled = true;
          resolve(model);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          reject(error);
        },
      );
    });
  }

  private adopt(model: ChannelModel): void {
    this.attempting = false;
    if (this.closing !== null) {
      discard(model);
      return;
    }
    // Listening for 'error' keeps a broker-side close from crashing the process.
    model.on('error', (error: unknown) => {
      this.lastError = error;
    });
    model.on('close', (error?: unknown) => this.dropped(model, error));
    model.on('blocked', (reason: string) => {
      this.blockedReason = reason;
    });
    model.on('unblocked', () => {
      this.blockedReason = null;
    });
    if (this.failureLog.failures === 0 && this.lastError !== undefined) {
      this.logger.info(`RabbitMQ: reconnected to ${this.failureLog.address}`);
    }
    this.failureLog.connected();
    this.model = model;
    this.failures = 0;
    this.lastError = undefined;
    this.blockedReason = null;
    this.connectionState = 'connected';
    for (const waiter of this.takeWaiters()) waiter.resolve(model);
  }

  private attemptFailed(error: unknown): void {
    this.attempting = false;
    if (this.closing !== null) return;
    this.lastError = error;
    if (isPermanentConnectError(error)) {
      this.connectionState = 'failed';
      this.failures = 0;
      this.logger.error(`RabbitMQ: ${describeError(error)}`);
      this.rejectWaiters(
        new RabbitmqConnectionError(
          `the broker at ${redactAmqpUrl(this.config.url)} refused the connection: ${describeError(error)}`,
          { cause: error, permanent: true },
        ),
      );
      return;
    }
    this.failureLog.failed(error, this.scheduleRetry());
  }

  private dropped(model: ChannelModel, error: unknown): void {
    if (this.model !== model) return;
    this.model = null;
    this.publisher = null;
    this.declared.clear();
    if (this.closing !== null) return;
    this.lastError = error ?? new RabbitmqConnectionError('the connection closed');
    this.logger.warn(`RabbitMQ: connection lost (${describeError(this.lastError)}); reconnecting`);
    this.connectionState = 'reconnecting';
    this.scheduleRetry();
  }

  /** Schedules the next connection attempt; returns its delay. */
  private scheduleRetry(): number {
    this.connectionState = 'reconnecting';
    const delay = backoffDelay(this.config.reconnect, this.failures++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delay);
    return delay;
  }

  /** Runs `work` on a short-lived channel (a refused declaration closes its channel). */
  private async withChannel<T>(
    model: ChannelModel,
    work: (channel: Channel) => Promise<T>,
  ): Promise<T> {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      channel.close().catch(() => undefined);
    }
  }

  private takeWaiters(): ConnectionWaiter[] {
    const waiters = [...this.waiters];
    this.waiters.clear();
    return waiters;
  }

  private rejectWaiters(error: unknown): void {
    for (const waiter of this.takeWaiters()) waiter.reject(error);
  }

  private lastErrorText(): string {
    return this.lastError === undefined ? '' : `: ${describeError(this.lastError)}`;
  }
}

function topologyError(topology: RabbitmqTopology, error: unknown): RabbitmqTopologyError {
  const what = topology.passive
    ? `checking queue ${topology.queues.map((queue) => `"${queue.name}"`).join(', ')}`
    : 'declaring the topology';
  const text = describeError(error);
  // Queues declared by ergon-rx before 0.x carried x-delivery-limit; the broker then refuses
  // a declaration without it.
  const hint = /inequivalent arg 'x-delivery-limit'/.test(text)
    ? " (the queue was declared with x-delivery-limit, with which the broker dead-letters by itself, at most once, and drops what the dead-letter queue refuses: re-create the queue without it, or keep it with queueArguments: { 'x-delivery-limit': n })"
    : '';
  return new RabbitmqTopologyError(`${what} failed: ${text}${hint}`, { cause: error });
}

/** Wrong credentials (403 ACCESS_REFUSED) or an unknown vhost (530 NOT_ALLOWED). */
function isPermanentConnectError(error: unknown): boolean {
  return error instanceof Error && /\b(403|530)\b|ACCESS.REFUSED|NOT.ALLOWED/.test(error.message);
}

/** Closes a connection nobody will use (it came too late), ignoring its errors. */
function discard(model: ChannelModel): void {
  model.on('error', () => undefined);
  model.close().catch(() => undefined);
}

/**
 * Last resort when the broker does not answer a close: destroys the connection's socket
 * (amqplib keeps it as `connection.stream`, which it does not declare).
 */
function destroySocket(model: ChannelModel): void {
  const stream: unknown = Reflect.get(model.connection, 'stream');
  if (typeof stream === 'object' && stream !== null && 'destroy' in stream) {
    const destroy: unknown = stream.destroy;
    if (typeof destroy === 'function') destroy.call(stream);
  }
}
