import { expect } from 'chai';
import { type RateLimit, RateLimiterUnavailableError } from '../../../lib/index.js';
import { PostgresRateLimiter } from '../../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  expectFourWorkersShare100PerSecond,
  grantedToConcurrentCallers,
} from '../../support/shared-rate-workers.js';
import { adminQuery, testUrl } from './fixtures/queue-fixture.js';

const rate = (limit: number, interval = 1000, burst = 0): RateLimit => ({ limit, interval, burst });

describe('PostgresRateLimiter (real PostgreSQL)', function () {
  this.timeout(30_000);
  const tables: string[] = [];
  const limiters: PostgresRateLimiter[] = [];
  let admin: PostgresRateLimiter;

  before(async function () {
    await requireService(this, 'postgres');
    admin = new PostgresRateLimiter({ connection: { url: testUrl } });
  });

  after(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
    await admin?.close();
    for (const table of tables) await adminQuery(`DROP TABLE IF EXISTS "${table}"`);
  });

  async function limiterFor(options: { ahead?: number } = {}): Promise<PostgresRateLimiter> {
    const table = uniqueName('ergon_rate');
    tables.push(table);
    const limiter = new PostgresRateLimiter({
      connection: { url: testUrl },
      table,
      ahead: options.ahead ?? 0,
    });
    limiters.push(limiter);
    await limiter.migrate();
    return limiter;
  }

  it('grants burst + 1 at once when idle, then one per period, with a retryAfter', async () => {
    const limiter = await limiterFor();
    const first = await limiter.take(10, rate(10, 1000, 4));
    expect(first.granted).to.equal(5);
    expect(first.retryAfter).to.be.within(1, 100);
    const second = await limiter.take(10, rate(10, 1000, 4));
    expect(second.granted).to.equal(0);
    await new Promise((resolve) => setTimeout(resolve, (second.retryAfter ?? 0) + 5));
    expect((await limiter.take(10, rate(10, 1000, 4))).granted).to.equal(1);
  });

  it('concurrent callers together never get more than limit + burst in an interval', async () => {
    const limiter = await limiterFor();
    expect(await grantedToConcurrentCallers(limiter)).to.be.within(20, 25);
  });

  it('a missing table is a RateLimiterUnavailableError saying to call migrate()', async () => {
    const limiter = new PostgresRateLimiter({
      connection: { url: testUrl },
      table: uniqueName('ergon_missing'),
    });
    limiters.push(limiter);
    const error: unknown = await limiter.take(1, rate(10)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).to.match(/call migrate\(\) first/);
  });

  it('four worker processes sharing a limit of 100/s start 100/s ± 5 % together', async () => {
    const table = uniqueName('ergon_rate');
    tables.push(table);
    await new PostgresRateLimiter({ connection: { url: testUrl }, table }).migrate();
    await expectFourWorkersShare100PerSecond('postgres', table, 'PostgreSQL limiter');
  });
});
