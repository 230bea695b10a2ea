import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { RateLimiterUnavailableError, type RateLimit } from '../../../lib/index.js';
import { RedisRateLimiter, RedisService } from '../../../lib/connectors/redis/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  expectFourWorkersShare100PerSecond,
  grantedToConcurrentCallers,
} from '../../support/shared-rate-workers.js';
import { adminClient } from './fixtures/redis-spec-support.js';

const rate = (limit: number, interval = 1000, burst = 0): RateLimit => ({ limit, interval, burst });

describe('RedisRateLimiter (real Redis)', function () {
  this.timeout(30_000);
  let admin: Redis;
  const keys: string[] = [];
  const limiters: RedisRateLimiter[] = [];

  before(async function () {
    await requireService(this, 'redis');
    admin = adminClient();
  });

  after(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
    if (keys.length > 0) await admin?.del(...keys);
    admin?.disconnect();
  });

  function limiterFor(options: { ahead?: number } = {}): RedisRateLimiter {
    const key = uniqueName('ergon_rate');
    keys.push(key);
    const limiter = new RedisRateLimiter({ key, ahead: options.ahead ?? 0 });
    limiters.push(limiter);
    return limiter;
  }

  it('grants burst + 1 at once when idle, then one per period, with a retryAfter until the next', async () => {
    const limiter = limiterFor();
    const first = await limiter.take(10, rate(10, 1000, 4));
    expect(first.granted).to.equal(5);
    expect(first.retryAfter).to.be.within(1, 100);
    const second = await limiter.take(10, rate(10, 1000, 4));
    expect(second.granted).to.equal(0);
    expect(second.retryAfter).to.be.within(1, 100);
    await new Promise((resolve) => setTimeout(resolve, (second.retryAfter ?? 0) + 5));
    expect((await limiter.take(10, rate(10, 1000, 4))).granted).to.equal(1);
  });

  it('grants permits due within `ahead` in one take', async () => {
    // A permit every 100 ms, so the second take, which comes a round trip later, finds none due
    // within `ahead` even on a busy machine (it would need 100 ms between the two takes).
    const limiter = limiterFor({ ahead: 1000 });
    const grant = await limiter.take(50, rate(10));
    // Due now, and the ten due within the next 1000 ms (the last one on the edge).
    expect(grant.granted).to.be.within(10, 11);
    expect(grant).to.have.property('retryAfter');
    const next = await limiter.take(1, rate(10));
    expect(next.granted).to.equal(0);
    expect(next.retryAfter).to.be.within(1, 110);
  });

  it('concurrent callers together never get more than limit + burst in an interval', async () => {
    const limiter = limiterFor();
    expect(await grantedToConcurrentCallers(limiter)).to.be.within(20, 25);
  });

  it('fails with RateLimiterUnavailableError when Redis does not answer within timeout', async () => {
    const service = new RedisService({ url: 'redis://127.0.0.1:1', connectTimeout: 5000 });
    const limiter = new RedisRateLimiter({ key: 'unreachable', timeout: 200 }, service);
    try {
      const error: unknown = await limiter.take(1, rate(10)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RateLimiterUnavailableError);
      expect((error as Error).message).to.match(/no answer within 200 ms/);
    } finally {
      await service.close();
    }
  });

  it('four worker processes sharing a limit of 100/s start 100/s ± 5 % together', async () => {
    const key = uniqueName('ergon_rate');
    keys.push(key);
    await expectFourWorkersShare100PerSecond('redis', key, 'Redis limiter');
  });
});
