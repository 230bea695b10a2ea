import { ErgonError } from '../core/errors.js';
import { describeError } from '../core/renderers.js';
import type { RateLimit } from './policy-sections.js';

/** What a {@link RateLimiter} grants for one `take`. */
export interface RateLimiterGrant {
  /** Permits granted now, `0 ≤ granted ≤ wanted`: that many may start at once. */
  readonly granted: number;
  /**
   * When fewer than wanted were granted: in how many milliseconds one more may be available
   * (a hint; the caller asks again then).
   */
  readonly retryAfter?: number;
}

/**
 * A rate limit kept outside the process (Redis, PostgreSQL, …), so that several worker
 * processes together stay within one limit: give the same limiter (same key) and the same
 * `loop.rateLimit` to every worker.
 *
 * `take(wanted, rate)` grants up to `wanted` permits of the rate `rate` at once; the consume
 * loop asks for a block (what it could start soon), keeps the permits as a local budget and
 * starts while it lasts, so a take costs one round trip per block, not per transaction. It
 * never fetches what it holds no permits for. Implementations: `RedisRateLimiter`
 * (`ergon-rx/redis`) and `PostgresRateLimiter` (`ergon-rx/postgres`).
 *
 * A `take` that rejects means the store is unreachable; see `loop.rateLimit.onLimiterError`.
 */
export interface RateLimiter {
  /**
   * Takes up to `wanted` (≥ 1) permits of `rate`; `signal` aborts the wait for the answer
   * (the permits may still be taken then).
   */
  take(wanted: number, rate: RateLimit, signal?: AbortSignal): Promise<RateLimiterGrant>;
}

/** Whether `u` is a {@link RateLimiter}: an object with a `take` function. */
export function isRateLimiter(u: unknown): u is RateLimiter {
  return (
    typeof u === 'object' && u !== null && typeof (u as { take?: unknown }).take === 'function'
  );
}

/**
 * A shared rate limiter could not answer: its store is unreachable, did not answer in time,
 * or is not set up (a missing table). The loop reacts as `loop.rateLimit.onLimiterError` says.
 *
 * @example
 * ```ts
 * limiter.take(10, rate).catch((e) => e instanceof RateLimiterUnavailableError && alert(e.message));
 * ```
 */
export class RateLimiterUnavailableError extends ErgonError {}

/**
 * `answer`, or a {@link RateLimiterUnavailableError} when it takes longer than `timeout` ms
 * or `signal` aborts first (the store may still take the permits then). For limiters.
 */
export async function limiterAnswer<A>(
  answer: Promise<A>,
  timeout: number,
  what: string,
  signal?: AbortSignal,
): Promise<A> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RateLimiterUnavailableError(`${what}: no answer within ${timeout} ms`)),
      timeout,
    );
    if (signal !== undefined) {
      onAbort = () => reject(new RateLimiterUnavailableError(`${what}: aborted`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([answer, late]);
  } catch (error) {
    if (error instanceof RateLimiterUnavailableError) throw error;
    throw new RateLimiterUnavailableError(`${what}: ${describeError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    answer.catch(() => undefined);
  }
}
