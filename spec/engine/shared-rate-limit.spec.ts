import { expect } from 'chai';
import { lastValueFrom, timer, toArray } from 'rxjs';
import {
  consume,
  consumerPolicy,
  consumerTask,
  MemoryConnector,
  PolicyError,
  type RateLimit,
  type RateLimiter,
  type RateLimiterGrant,
} from '../../lib/index.js';
import { RedisRateLimiter, RedisService } from '../../lib/connectors/redis/index.js';
import { keptLogger } from './support/kept-logger.js';

/** An in-process limiter that grants every take in full and counts the takes. */
class CountingLimiter implements RateLimiter {
  takes: number[] = [];
  take(wanted: number, rate: RateLimit): Promise<RateLimiterGrant> {
    this.takes.push(wanted);
    return Promise.resolve({ granted: Math.min(wanted, rate.limit + rate.burst) });
  }
}

describe('loop.rateLimit with a shared limiter', () => {
  it('accepts an object with a take function; anything else is a PolicyError', () => {
    const limiter = new CountingLimiter();
    const policy = consumerPolicy({ loop: { rateLimit: { limit: 10, limiter } } });
    expect(policy.loop.rateLimit?.limiter).to.equal(limiter);
    expect(policy.loop.rateLimit?.onLimiterError).to.equal('closed');
    expect(consumerPolicy({ loop: { rateLimit: { limit: 10 } } }).loop.rateLimit?.limiter).to.equal(
      null,
    );
    for (const bad of [{}, 'redis', { take: 1 }]) {
      expect(() =>
        consumerPolicy({
          loop: { rateLimit: { limit: 10, limiter: bad as unknown as RateLimiter } },
        }),
      )
        .to.throw(PolicyError)
        .with.property('message')
        .that.matches(
          /loop\.rateLimit\.limiter: expected RateLimiter \(an object with a take function\)/,
        );
    }
    expect(() =>
      consumerPolicy({
        loop: { rateLimit: { limit: 10, onLimiterError: 'ajar' as 'open' } },
      }),
    ).to.throw(PolicyError, /onLimiterError/);
  });

  it('takes permits in blocks, and starts no more than it was granted', async () => {
    const limiter = new CountingLimiter();
    const source = Array.from({ length: 200 }, (_, n) => n);
    const outcomes = await lastValueFrom(
      consume(new MemoryConnector<number>({ source }), consumerTask({ process: () => undefined }), {
        loop: {
          mode: 'continuous',
          concurrency: { value: 50 },
          rateLimit: { limit: 1000, limiter },
        },
      }).pipe(toArray()),
    );
    expect(outcomes).to.have.length(200);
    expect(limiter.takes.length, 'takes').to.be.below(20);
    const granted = limiter.takes.reduce((sum, n) => sum + Math.min(n, 1000), 0);
    expect(granted).to.be.at.least(200);
  });

  describe('onLimiterError (a Redis limiter on a closed port)', () => {
    let service: RedisService;
    beforeEach(() => {
      service = new RedisService({ url: 'redis://127.0.0.1:1', connectTimeout: 5000 });
    });
    afterEach(() => service.close());

    it("'closed' (the default) starts nothing while the limiter cannot answer; one warning", async () => {
      const limiter = new RedisRateLimiter({ key: 'unreachable', timeout: 100 }, service);
      const { logger, lines } = keptLogger();
      let started = 0;
      await lastValueFrom(
        consume(
          new MemoryConnector<number>({ source: [1, 2, 3, 4, 5] }),
          consumerTask({
            logger,
            process: () => {
              started++;
            },
          }),
          { loop: { mode: 'continuous', rateLimit: { limit: 100, limiter } } },
          { stop$: timer(1500) },
        ).pipe(toArray()),
      );
      expect(started).to.equal(0);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        /shared rate limiter cannot answer .*no answer within 100 ms.*no new transactions until it does/,
      );
    });

    it("'open' starts transactions at the limit kept in the process; one warning", async () => {
      const limiter = new RedisRateLimiter({ key: 'unreachable', timeout: 100 }, service);
      const { logger, lines } = keptLogger();
      const source = Array.from({ length: 20 }, (_, n) => n);
      const outcomes = await lastValueFrom(
        consume(
          new MemoryConnector<number>({ source }),
          consumerTask({ logger, process: () => undefined }),
          {
            loop: {
              mode: 'continuous',
              concurrency: { value: 4 },
              rateLimit: { limit: 100, limiter, onLimiterError: 'open' },
            },
          },
        ).pipe(toArray()),
      );
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(source.map(() => 'success'));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/this process keeps the limit on its own until it does/);
    });
  });
});
