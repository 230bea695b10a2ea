import pg from 'pg';
import { describeError } from '../../../core/renderers.js';
import { noop, sleep } from '../../../core/waiting.js';
import { type Backoff, backoffDelay } from '../../../policy/backoff.js';
import { quoteIdentifier } from '../sql-identifier.js';

/** Where the LISTEN connection is: `idle` (no channel yet), `listening`, `reconnecting`, `closed`. */
export type ListenerState = 'idle' | 'connecting' | 'listening' | 'reconnecting' | 'closed';

interface Channel {
  readonly wake: WakeSignal;
  users: number;
}

/**
 * The dedicated LISTEN connection of a {@link PostgresService}: one connection for every
 * channel its connectors wait on. When the connection drops (server restart,
 * `pg_terminate_backend`, network), it reconnects with capped exponential backoff, LISTENs
 * again and wakes every channel once, since notifications sent while it was away are lost.
 */
export class NotificationListener {
  private readonly channels = new Map<string, Channel>();
  private client: pg.Client | null = null;
  /** The connection being set up, ended by `close()` so no half-open socket outlives it. */
  private connecting: pg.Client | null = null;
  private current: ListenerState = 'idle';
  private lastError: unknown = undefined;
  private running: Promise<void> | null = null;
  /** Aborted by `close()`: cuts the pause between two connection attempts short. */
  private readonly closing = new AbortController();

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    private readonly reconnect: Backoff,
  ) {}

  get state(): ListenerState {
    return this.current;
  }

  /** Why the last connection attempt failed or the connection dropped. */
  get error(): unknown {
    return this.lastError;
  }

  /** A one-line description of the state, for health reports. */
  describe(): string {
    return this.lastError === undefined || this.current === 'listening'
      ? this.current
      : `${this.current} (${describeError(this.lastError)})`;
  }

  /** The wake-ups of `channel`; starts listening on it. Pair with {@link unlisten}. */
  listen(channel: string): WakeSignal {
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      entry = { wake: new WakeSignal(), users: 0 };
      this.channels.set(channel, entry);
      this.client?.query(`LISTEN ${quoteIdentifier(channel)}`).catch(() => this.drop());
    }
    entry.users++;
    this.running ??= this.run();
    return entry.wake;
  }

  /** One user fewer of `channel`; the last one stops listening to it. */
  unlisten(channel: string): void {
    const entry = this.channels.get(channel);
    if (entry === undefined || --entry.users > 0) return;
    this.channels.delete(channel);
    this.client?.query(`UNLISTEN ${quoteIdentifier(channel)}`).catch(() => this.drop());
  }

  /** Closes the connection and stops reconnecting; waiting fetches time out as usual. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.closing.abort();
    await Promise.all([
      this.connecting?.end().catch(() => undefined),
      this.client?.end().catch(() => undefined),
    ]);
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.isClosed()) {
      this.current = failures === 0 ? 'connecting' : 'reconnecting';
      const ended = await this.session();
      if (this.isClosed()) break;
      if (ended) failures = 0;
      this.current = 'reconnecting';
      const pause = backoffDelay(this.reconnect, failures++);
      await sleep(pause, { signal: this.closing.signal }).catch(noop);
    }
  }

  /** A method, not a getter, so TypeScript does not narrow it away across `await`s. */
  private isClosed(): boolean {
    return this.current === 'closed';
  }

  /** One connection's life; `true` when it was listening before it ended. */
  private async session(): Promise<boolean> {
    const client = new pg.Client(this.clientConfig);
    const ended = new Promise<void>((resolve) => client.once('end', resolve));
    client.on('error', (error) => {
      this.lastError = error;
    });
    this.connecting = client;
    try {
      await client.connect();
      for (const channel of this.channels.keys()) {
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
      }
    } catch (error) {
      this.lastError = error;
      await client.end().catch(() => undefined);
      return false;
    } finally {
      this.connecting = null;
    }
    if (this.isClosed()) {
      await client.end().catch(() => undefined);
      return false;
    }
    client.on('notification', (message) => this.channels.get(message.channel)?.wake.wake());
    this.client = client;
    this.current = 'listening';
    // Anything sent while no connection listened is lost: let every waiting fetch look again.
    for (const { wake } of this.channels.values()) wake.wake();
    await ended;
    this.client = null;
    return true;
  }

  /** A LISTEN/UNLISTEN failed on a live connection: start over with a fresh one. */
  private drop(): void {
    this.client?.end().catch(() => undefined);
  }
}

/**
 * A counter of wake-ups (NOTIFYs on one channel, listener reconnects) that fetches wait on.
 * A fetch reads {@link WakeSignal.sequence} before it looks for rows and waits only for a
 * wake-up after that, so a NOTIFY that arrives between "found nothing" and "start waiting"
 * is never missed.
 *
 * @example
 * ```ts
 * const seen = wake.sequence;
 * if ((await claim()).length === 0) await wake.wait(seen, 1000, signal);
 * ```
 */
export class WakeSignal {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  /** How many wake-ups there were so far. */
  get sequence(): number {
    return this.count;
  }

  /** Wakes every waiter. */
  wake(): void {
    this.count++;
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  /**
   * Resolves `true` at the first wake-up after `since` (at once if there was one already),
   * `false` after `timeout` ms or when `signal` aborts. Never rejects.
   */
  wait(since: number, timeout: number, signal: AbortSignal): Promise<boolean> {
    if (this.count !== since) return Promise.resolve(true);
    if (signal.aborted || timeout <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(onWake);
        resolve(woken);
      };
      const onWake = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(done, timeout, false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(onWake);
    });
  }
}
