import { describeError } from './renderers.js';
import { ErgonError } from './errors.js';
import type { Logger } from './logging.js';

/**
 * `host:port` of a connection URL, never its credentials, path or query; `defaultPort` when the
 * URL names none. Falls back to `(unparsable address)` rather than echo a URL that might hold
 * a password.
 *
 * @example
 * ```ts
 * hostAndPort('redis://app:secret@cache:6380/2', 6379); // 'cache:6380'
 * hostAndPort('amqp://guest:guest@127.0.0.1', 5672); // '127.0.0.1:5672'
 * ```
 */
export function hostAndPort(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    if (parsed.hostname === '') return '(unparsable address)';
    return `${parsed.hostname}:${parsed.port === '' ? defaultPort : parsed.port}`;
  } catch {
    return '(unparsable address)';
  }
}

/**
 * The system error code of a connection failure (`ECONNREFUSED`, `ETIMEDOUT`, `ENOTFOUND`…),
 * looked up on the error and its causes; `undefined` when there is none.
 */
export function connectionErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    try {
      const code: unknown = (current as { code?: unknown }).code;
      if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
      const errors: unknown = (current as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        const inner = connectionErrorCode(errors[0]);
        if (inner !== undefined) return inner;
      }
      current = (current as { cause?: unknown }).cause;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What a failure looks like in a line: its code when it has one, else its description. */
function failureText(error: unknown): string {
  return connectionErrorCode(error) ?? describeError(error);
}

/**
 * A broker could not be reached within the time a caller waits for it (a fetch attempt waits
 * `connectTimeout`). Its message names the transport, the address (`host:port`, never
 * credentials) and the last failure.
 *
 * @example
 * ```ts
 * // ConnectionUnavailableError: Redis at 127.0.0.1:6390 not reachable within 2000 ms
 * //   (ECONNREFUSED, 6 failed attempts); is the server running?
 * ```
 */
export class ConnectionUnavailableError extends ErgonError {
  constructor(
    readonly transport: string,
    readonly address: string,
    waited: number,
    failures: number,
    lastError: unknown,
  ) {
    super(
      `${transport} at ${address} not reachable within ${waited} ms` +
        (lastError === undefined
          ? ''
          : ` (${failureText(lastError)}, ${failures} failed attempt${failures === 1 ? '' : 's'})`) +
        '; is the server running and the address right?',
      { cause: lastError },
    );
  }
}

/**
 * Logs the failed attempts of one connection without flooding: the first at `warn` with the
 * address and error code, then only the 2nd, 4th, 8th… (back-off), and one `info` line once
 * it is up again.
 *
 * @example
 * ```ts
 * const failures = new ConnectionFailureLog(logger, 'Redis', '127.0.0.1:6379');
 * failures.failed(error, 200); // warn: Redis: cannot connect to 127.0.0.1:6379 (ECONNREFUSED); attempt 1, retrying in 200 ms
 * failures.connected(); // info: Redis: connected to 127.0.0.1:6379 after 1 failed attempt
 * ```
 */
export class ConnectionFailureLog {
  /** Failed attempts since the connection was last up. */
  failures = 0;
  /** The last failure, `undefined` once connected. */
  lastError: unknown = undefined;
  /** When the first of {@link failures} happened (ms since the epoch), `null` when none. */
  private since: number | null = null;
  /** Whether the connection was up at least once (see {@link remainingWait}). */
  private wasUp = false;

  constructor(
    private readonly logger: Logger,
    private readonly transport: string,
    readonly address: string,
  ) {}

  /** Counts a failed attempt; `retryIn` is the delay before the next one, when known. */
  failed(error: unknown, retryIn?: number): void {
    this.failures++;
    this.lastError = error;
    this.since ??= Date.now();
    const n = this.failures;
    if ((n & (n - 1)) !== 0) return;
    this.logger.warn(
      `${this.transport}: cannot connect to ${this.address} (${failureText(error)}); attempt ${n}` +
        (retryIn === undefined ? '' : `, retrying in ${Math.round(retryIn)} ms`),
    );
  }

  /** The connection is up: says so once if failures were logged, and starts counting anew. */
  connected(): void {
    if (this.failures > 0) {
      const n = this.failures;
      this.logger.info(
        `${this.transport}: connected to ${this.address} after ${n} failed attempt${n === 1 ? '' : 's'}`,
      );
    }
    this.failures = 0;
    this.lastError = undefined;
    this.since = null;
    this.wasUp = true;
  }

  /** How long the connection has been failing (ms), `0` when it has not failed since it was up. */
  failingFor(): number {
    return this.since === null ? 0 : Date.now() - this.since;
  }

  /**
   * How much longer a caller that waits at most `timeout` ms for the connection still waits:
   * `timeout` less the time the connection has been failing, never below 0. `undefined` (wait
   * as long as it takes) once the connection has been up: a server that was reachable and went
   * away is restarting or failing over, so callers wait for the reconnect (retried with
   * back-off) instead of failing — an outage longer than `connectTimeout` must not end a run.
   * Only a server never reached fails callers fast (a wrong address, a server not started).
   *
   * @example
   * ```ts
   * const wait = failures.remainingWait(10_000);
   * if (wait === 0) throw failures.unavailable(failures.failingFor());
   * ```
   */
  remainingWait(timeout: number): number | undefined {
    if (this.wasUp) return undefined;
    return Math.max(0, timeout - this.failingFor());
  }

  /** The error for a caller that waited `waited` ms in vain. */
  unavailable(waited: number): ConnectionUnavailableError {
    return new ConnectionUnavailableError(
      this.transport,
      this.address,
      waited,
      this.failures,
      this.lastError,
    );
  }
}
