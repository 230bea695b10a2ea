import { PolicyError } from '../../core/errors.js';
import { renderValue } from '../../core/renderers.js';
import type { RateLimit } from '../../policy/policy-sections.js';
import {
  limiterAnswer,
  type RateLimiter,
  type RateLimiterGrant,
  RateLimiterUnavailableError,
} from '../../policy/rate-limiter.js';
import { UnexpectedReplyError } from './errors.js';
import { takeScript } from './internal/rate-script.js';
import {
  type RedisRateLimiterConfig,
  type RedisRateLimiterConfigInput,
  redisRateLimiterConfig,
} from './redis-rate-limiter-config.js';
import { RedisService } from './redis-service.js';

/**
 * A rate limit shared by every process that uses the same Redis key: give each worker a
 * `RedisRateLimiter` on that key as `loop.rateLimit.limiter`, and they together start at most
 * `limit` per `interval` (plus `burst`). The generic cell rate algorithm runs in one Lua script
 * (atomic) on the server's clock, so the workers' clocks do not matter; one take is one
 * `EVALSHA` round trip and grants a block of permits (those due within `ahead`, default a
 * tenth of the interval). The key holds one number and expires when the limit is idle.
 *
 * A take fails with a {@link RateLimiterUnavailableError} when Redis does not answer within
 * `timeout` (default 1 s); nothing is sent while the connection is down.
 *
 * @example
 * ```ts
 * import { consume, consumerTask, MemoryConnector } from 'ergon-rx';
 * import { RedisRateLimiter } from 'ergon-rx/redis';
 *
 * const limiter = new RedisRateLimiter({ key: 'limits:partner-api' });
 * const connector = new MemoryConnector<{ id: string }>({ source: [{ id: 'o-1' }] });
 * const task = consumerTask({ process: async () => {} });
 * consume(connector, task, {
 *   loop: { rateLimit: { limit: 100, interval: '1s', limiter } }, // 100/s across all workers
 * }).subscribe({ complete: () => void limiter.close() });
 * ```
 */
export class RedisRateLimiter implements RateLimiter {
  readonly config: RedisRateLimiterConfig;
  private readonly service: RedisService;
  private readonly ownsService: boolean;

  /**
   * @param service a shared {@link RedisService} (closed by its owner); without one the limiter
   * opens its own from `input.connection` and closes it on `close`.
   * @throws PolicyError when `input` is invalid, or has `connection` while `service` is given.
   */
  constructor(input: RedisRateLimiterConfigInput, service?: RedisService) {
    this.config = redisRateLimiterConfig(input);
    if (service !== undefined && input.connection != null) {
      throw new PolicyError('redis rate limiter config', [
        {
          path: 'connection',
          expected: 'no connection settings with a shared RedisService (configure the service)',
          actual: renderValue(input.connection),
        },
      ]);
    }
    this.service = service ?? new RedisService(this.config.connection);
    this.ownsService = service === undefined;
  }

  /**
   * Takes up to `wanted` permits of `rate` (one script call).
   *
   * @throws RateLimiterUnavailableError when Redis does not answer within `timeout`, or fails.
   */
  take(wanted: number, rate: RateLimit, signal?: AbortSignal): Promise<RateLimiterGrant> {
    const what = `Redis rate limiter ${this.config.key}`;
    return limiterAnswer(this.run(wanted, rate, signal), this.config.timeout, what, signal);
  }

  /** Closes the limiter's own connection (not a shared service). Idempotent. */
  async close(): Promise<void> {
    if (this.ownsService) await this.service.close();
  }

  private async run(
    wanted: number,
    rate: RateLimit,
    signal: AbortSignal | undefined,
  ): Promise<RateLimiterGrant> {
    if (this.service.closed) {
      throw new RateLimiterUnavailableError(`Redis rate limiter ${this.config.key}: closed`);
    }
    await this.service.whenReady();
    // Gave up meanwhile: take nothing that nobody will use.
    if (signal?.aborted === true) return { granted: 0 };
    const period = rate.interval / rate.limit;
    const ahead = this.config.ahead ?? rate.interval / 10;
    const reply = await takeScript.run(
      this.service.commands,
      [this.config.key],
      [Math.max(1, Math.floor(wanted)), period, rate.burst, ahead],
    );
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new UnexpectedReplyError(`rate limit script replied ${renderValue(reply)}`);
    }
    const [granted, retryAfter] = reply as [number, number];
    return granted < wanted ? { granted, retryAfter } : { granted };
  }
}
