import {
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  BehaviorSubject,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  map,
  of,
  timeout,
  type Observable,
} from 'rxjs';
import { ConnectorClosedError } from '../../core/errors.js';
import type { ConnectorHealth, Service } from '../../core/connector.js';
import { describeError } from '../../core/renderers.js';
import { backoffDelay } from '../../policy/backoff.js';
import {
  natsServiceConfig,
  type NatsServiceConfig,
  type NatsServiceConfigInput,
} from './nats-connector-config.js';
import {
  declareConsumer,
  declareStream,
  type ConsumerDeclaration,
  type StreamDeclaration,
} from './internal/jetstream-topology.js';
import { NatsConnectionError } from './errors.js';
import { waitAtMost } from '../../core/waiting.js';
import log from 'loglevel';
import {
  ConnectionFailureLog,
  connectionErrorCode,
  hostAndPort,
} from '../../core/connection-failures.js';
import type { Logger } from '../../core/logging.js';

/**
 * Where a {@link NatsService}'s connection stands: `idle` (not connected yet, or the last
 * attempt failed), `connecting`, `connected`, `reconnecting` (the connection dropped and the
 * client redials with backoff), `closed`.
 */
export type NatsConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

const closeTimeout = 2000;

/**
 * Owns one NATS connection and the JetStream topology declared on it; connectors and tasks
 * share it. It connects lazily on first use. After a drop the NATS client redials by itself,
 * forever, waiting `reconnect` (capped exponential backoff) between failed attempts; while it
 * does, the state is `reconnecting`. A first connection that fails is retried on the next use,
 * but not before the same backoff has passed (until then uses fail fast with the last error).
 *
 * @example
 * ```ts
 * const service = new NatsService({ url: 'nats://127.0.0.1:4222' });
 * const orders = new NatsConnector({ stream: 'ORDERS' }, { service });
 * const invoices = new NatsConnector({ stream: 'INVOICES' }, { service });
 * // …
 * await service.close();
 * ```
 */
export class NatsService implements Service {
  readonly config: NatsServiceConfig;
  /** The connection state; replays the current state to each subscriber. */
  readonly state$: Observable<NatsConnectionState>;

  private readonly states = new BehaviorSubject<NatsConnectionState>('idle');
  private connection: NatsConnection | null = null;
  private connecting: Promise<NatsConnection> | null = null;
  private manager: Promise<JetStreamManager> | null = null;
  private client: JetStreamClient | null = null;
  private readonly declared = new Map<string, Promise<void>>();
  private failures = 0;
  private lastFailureAt = 0;
  /** Dials of the current reconnect so far (reset when the connection is back). */
  private reconnectDials = 0;
  private lastError: unknown = undefined;
  private closing: Promise<void> | null = null;
  /** Failed connection attempts, logged with back-off. */
  private readonly failureLog: ConnectionFailureLog;

  /**
   * @param options.logger where connection failures are reported (default: the loglevel
   * logger `ergon.nats`).
   */
  constructor(
    config: NatsServiceConfigInput | NatsServiceConfig = {},
    options: { readonly logger?: Logger } = {},
  ) {
    this.config = natsServiceConfig(config);
    this.failureLog = new ConnectionFailureLog(
      options.logger ?? log.getLogger('ergon.nats'),
      'NATS',
      this.config.url.map((url) => hostAndPort(url, 4222)).join(', '),
    );
    this.state$ = this.states.pipe(distinctUntilChanged());
  }

  get state(): NatsConnectionState {
    return this.states.value;
  }

  /** Whether the connection is up right now (settlements sent now reach the server). */
  get connected(): boolean {
    return this.states.value === 'connected';
  }

  /** The connection when it is up right now, else `null` (never starts connecting). */
  get liveConnection(): NatsConnection | null {
    return this.states.value === 'connected' ? this.connection : null;
  }

  /**
   * The connection, connecting first when there is none.
   *
   * @throws NatsConnectionError when connecting fails (or failed less than a backoff ago).
   * @throws ConnectorClosedError after {@link close}.
   */
  connect(): Promise<NatsConnection> {
    if (this.closing !== null) {
      return Promise.reject(new ConnectorClosedError('the NATS service is closed'));
    }
    if (this.connection !== null) return Promise.resolve(this.connection);
    if (this.connecting !== null) return this.connecting;
    const wait =
      this.failures === 0
        ? 0
        : this.lastFailureAt + backoffDelay(this.config.reconnect, this.failures - 1) - Date.now();
    if (wait > 0) {
      return Promise.reject(
        new NatsConnectionError(
          `cannot connect to NATS at ${this.failureLog.address} (${codeOf(this.lastError)}` +
            `${this.failures} failed attempts, next one in ${Math.ceil(wait)} ms): ` +
            describeError(this.lastError),
          { cause: this.lastError },
        ),
      );
    }
    this.states.next('connecting');
    const connecting = this.open();
    this.connecting = connecting;
    const forget = (): void => {
      if (this.connecting === connecting) this.connecting = null;
    };
    connecting.then(forget, forget);
    return connecting;
  }

  /** The JetStream client of the current connection. */
  async jetstream(): Promise<JetStreamClient> {
    const connection = await this.connect();
    if (this.client === null) {
      this.client = jetstream(connection, { timeout: this.config.requestTimeout });
    }
    return this.client;
  }

  /** The JetStream manager of the current connection (checks JetStream is enabled). */
  jetstreamManager(): Promise<JetStreamManager> {
    if (this.manager === null) {
      const manager = this.connect().then((connection) =>
        jetstreamManager(connection, { timeout: this.config.requestTimeout }),
      );
      this.manager = manager;
      manager.catch(() => {
        if (this.manager === manager) this.manager = null;
      });
    }
    return this.manager;
  }

  /**
   * Resolves `true` once the connection is up, or `false` when it is not within `within`
   * milliseconds (or the service closes). Does not start connecting.
   */
  whenConnected(within: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return firstValueFrom(
      this.states.pipe(
        filter((state) => state === 'connected' || state === 'closed'),
        map((state) => state === 'connected'),
        timeout({ first: within, with: () => of(false) }),
      ),
      { defaultValue: false },
    );
  }

  /** Creates or updates a stream once per service (see `declareStream`). */
  declareStream(declaration: StreamDeclaration): Promise<void> {
    return this.declareOnce(`stream ${JSON.stringify(declaration)}`, (jsm) =>
      declareStream(jsm, declaration),
    );
  }

  /** Creates or updates a durable pull consumer once per service (see `declareConsumer`). */
  declareConsumer(declaration: ConsumerDeclaration): Promise<void> {
    return this.declareOnce(`consumer ${JSON.stringify(declaration)}`, (jsm) =>
      declareConsumer(jsm, declaration),
    );
  }

  /**
   * Forgets what was declared, so the next `declareStream`/`declareConsumer` asks the server
   * again: for a stream or consumer deleted behind the connector's back.
   */
  forgetDeclarations(): void {
    this.declared.clear();
  }

  health(): ConnectorHealth {
    const state = this.state;
    const server = this.connection?.getServer();
    const detail =
      state === 'idle' && this.failures > 0
        ? `last connection attempt failed: ${describeError(this.lastError)}`
        : server === undefined
          ? undefined
          : `server ${server}`;
    return detail === undefined
      ? { healthy: state === 'connected', state }
      : { healthy: state === 'connected', state, detail };
  }

  /** Closes the connection (within about two seconds); idempotent. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.states.next('closed');
    this.declared.clear();
    const connection = this.connection ?? (await this.connecting?.catch(() => null)) ?? null;
    this.connection = null;
    this.manager = null;
    this.client = null;
    if (connection !== null) await waitAtMost(connection.close(), closeTimeout);
    this.states.complete();
  }

  private async open(): Promise<NatsConnection> {
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: [...this.config.url],
        ...(this.config.name === null ? {} : { name: this.config.name }),
        timeout: this.config.connectTimeout,
        pingInterval: this.config.pingInterval,
        maxPingOut: 2,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => this.reconnectDelay(),
      });
    } catch (error) {
      this.failures++;
      this.lastFailureAt = Date.now();
      this.lastError = error;
      if (this.closing === null) {
        this.states.next('idle');
        this.failureLog.failed(error, backoffDelay(this.config.reconnect, this.failures - 1));
      }
      throw new NatsConnectionError(
        `cannot connect to NATS at ${this.failureLog.address} (${codeOf(error)}attempt ` +
          `${this.failures}): ${describeError(error)}`,
        { cause: error },
      );
    }
    if (this.closing !== null) {
      await waitAtMost(connection.close(), closeTimeout);
      throw new ConnectorClosedError('the NATS service is closed');
    }
    this.failures = 0;
    this.failureLog.connected();
    this.connection = connection;
    this.watch(connection);
    this.states.next('connected');
    return connection;
  }

  /** Follows the client's status events; a connection that closes on its own is forgotten. */
  private watch(connection: NatsConnection): void {
    void (async () => {
      for await (const status of connection.status()) {
        if (this.connection !== connection) return;
        if (status.type === 'disconnect') this.states.next('reconnecting');
        else if (status.type === 'reconnect') {
          this.reconnectDials = 0;
          this.states.next('connected');
        }
      }
    })();
    void connection.closed().then((error) => {
      if (this.connection !== connection) return;
      this.connection = null;
      this.manager = null;
      this.client = null;
      if (error instanceof Error) {
        this.failures = 1;
        this.lastFailureAt = Date.now();
        this.lastError = error;
      }
      if (this.closing === null) this.states.next('idle');
    });
  }

  /**
   * The NATS client asks before each dial of a reconnect: the k-th dial since the connection
   * was last up waits the policy's k-th backoff (counted here, as @nats-io/nats-core 3.3 has
   * no public per-server count; 3.4 has, but its nuid wants Node 22).
   */
  private reconnectDelay(): number {
    return backoffDelay(this.config.reconnect, this.reconnectDials++);
  }

  private declareOnce(
    key: string,
    declare: (jsm: JetStreamManager) => Promise<void>,
  ): Promise<void> {
    let pending = this.declared.get(key);
    if (pending === undefined) {
      const declaring = this.jetstreamManager().then(declare);
      pending = declaring;
      this.declared.set(key, declaring);
      declaring.catch(() => {
        if (this.declared.get(key) === declaring) this.declared.delete(key);
      });
    }
    return pending;
  }
}

/** `ECONNREFUSED, ` when the failure has a system error code, else nothing. */
function codeOf(error: unknown): string {
  const code = connectionErrorCode(error);
  return code === undefined ? '' : `${code}, `;
}
