import { setMaxListeners } from 'node:events';
import { ConnectionFailureLog, connectionErrorCode } from '../../core/connection-failures.js';
import type { Logger } from '../../core/logging.js';
import { sleep } from '../../core/waiting.js';
import { backoffDelay, type Backoff } from '../../policy/backoff.js';

/** What {@link AwsRequests} needs of a connection config. */
interface RetrySettings {
  readonly connectTimeout: number;
  readonly reconnect: Backoff;
}

/** Error names of the AWS SDK (and compatible servers) that mean "try again later". */
const throttlingNames = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

function field(error: unknown, name: string): unknown {
  try {
    return typeof error === 'object' && error !== null
      ? (error as Record<string, unknown>)[name]
      : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status an AWS SDK error carries in `$metadata`, when it has one. */
export function httpStatusOf(error: unknown): number | undefined {
  const status = field(field(error, '$metadata'), 'httpStatusCode');
  return typeof status === 'number' ? status : undefined;
}

/** The name of an AWS SDK error (`QueueDoesNotExist`, `NoSuchKey`, …), or `''`. */
export function awsErrorName(error: unknown): string {
  const name = field(error, 'name');
  return typeof name === 'string' ? name : '';
}

/**
 * Whether a failed request is worth repeating: the server was not reached (a system error
 * code such as `ECONNREFUSED`), answered 5xx, throttled, or timed out. A 4xx answer (a wrong
 * queue name, bad credentials) is not.
 */
function isTransientAwsError(error: unknown): boolean {
  if (awsErrorName(error) === 'AbortError') return false;
  if (connectionErrorCode(error) !== undefined) return true;
  const status = httpStatusOf(error);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (throttlingNames.has(awsErrorName(error))) return true;
  return field(error, '$retryable') !== undefined;
}

/**
 * Runs requests to an AWS-compatible service, repeating those that fail transiently (see
 * {@link isTransientAwsError}) with capped exponential backoff, and logging the outage once
 * per doubling (`ConnectionFailureLog`). A server never reached fails callers after
 * `connectTimeout` with `ConnectionUnavailableError`; one that answered before is waited for
 * (it restarts, or its network is back soon). `signal` and {@link close} end the waiting.
 */
export class AwsRequests {
  private readonly failures: ConnectionFailureLog;
  private readonly closing = new AbortController();

  constructor(
    transport: string,
    address: string,
    private readonly settings: RetrySettings,
    logger: Logger,
  ) {
    this.failures = new ConnectionFailureLog(logger, transport, address);
    // One listener per request in flight (a dispatch sends many at once), removed when it ends.
    setMaxListeners(0, this.closing.signal);
  }

  /** Whether the last request reached the server (none failed since). */
  get reachable(): boolean {
    return this.failures.failures === 0;
  }

  /** The last transient failure, `undefined` once a request got through again. */
  get lastError(): unknown {
    return this.failures.lastError;
  }

  /** Runs `request` until it succeeds, fails for good, `signal` aborts or this closes. */
  async run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal === undefined) return this.attempts(request, this.closing.signal);
    // Not AbortSignal.any: on Node 20 it keeps every combined signal of a long-lived source.
    const both = new AbortController();
    const abort = (): void =>
      both.abort(signal.aborted ? signal.reason : this.closing.signal.reason);
    if (signal.aborted || this.closing.signal.aborted) abort();
    // A dispatch sends its requests at once, each listening to the attempt's signal meanwhile.
    setMaxListeners(0, signal);
    signal.addEventListener('abort', abort, { once: true });
    this.closing.signal.addEventListener('abort', abort, { once: true });
    try {
      return await this.attempts(request, both.signal);
    } finally {
      signal.removeEventListener('abort', abort);
      this.closing.signal.removeEventListener('abort', abort);
    }
  }

  private async attempts<T>(request: () => Promise<T>, stop: AbortSignal): Promise<T> {
    for (let retry = 0; ; retry++) {
      stop.throwIfAborted();
      try {
        const result = await request();
        this.failures.connected();
        return result;
      } catch (error) {
        if (stop.aborted || !isTransientAwsError(error)) throw error;
        const delay = backoffDelay(this.settings.reconnect, Math.min(retry, 30));
        this.failures.failed(error, delay);
        const wait = this.failures.remainingWait(this.settings.connectTimeout);
        if (wait === 0) {
          throw this.failures.unavailable(
            Math.max(this.settings.connectTimeout, this.failures.failingFor()),
          );
        }
        await sleep(wait === undefined ? delay : Math.min(delay, wait), { signal: stop });
      }
    }
  }

  /** Ends every wait of {@link run} (with `reason`); later runs reject at once. */
  close(reason: Error): void {
    this.closing.abort(reason);
  }
}
