import { expect } from 'chai';
import { Redis } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import { dispatchTo } from '../../../lib/index.js';
import { RedisConnector } from '../../../lib/connectors/redis/index.js';
import { startPrivateRedis } from '../../../faults/support/private-redis.js';
import type { PrivateBroker } from '../../../faults/support/private-broker.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { numbered } from './fixtures/redis-spec-support.js';

/**
 * Issue 14 (Also): dispatch retries after an attempt timeout duplicated entries while the
 * server was paused (`CLIENT PAUSE`: 3 018 entries for 3 000 sent). A Redis of its own, so
 * the pause holds up nobody else.
 */
describe('RedisConnector — dispatch while the server is paused (private Redis)', function () {
  this.timeout(30_000);
  let broker: PrivateBroker;
  let admin: Redis;

  before(async function () {
    await requireService(this, 'redis');
    broker = await startPrivateRedis();
    admin = new Redis(broker.url, { lazyConnect: false });
  });

  after(async () => {
    admin?.disconnect();
    await broker?.dispose();
  });

  it('attempts that time out during CLIENT PAUSE are waited for, not repeated: every entry once, all reported dispatched', async () => {
    const stream = uniqueName('ergon_redis_pause');
    const connector = new RedisConnector<{ n: number }>({
      stream,
      connection: { url: broker.url },
    });
    try {
      await connector.dispatch([]); // connects before the pause
      const sent = numbered('paused', 600);
      await admin.call('CLIENT', 'PAUSE', '1200', 'WRITE');
      const started = Date.now();
      const receipts = await lastValueFrom(
        from(sent).pipe(
          dispatchTo(connector, {
            batch: 100,
            maxWait: 0,
            concurrency: 2,
            retry: { maxAttempts: 5, timeout: 200, backoff: 50 },
          }),
          toArray(),
        ),
      );
      expect(Date.now() - started, 'the pause held the batches up').to.be.above(900);
      expect(await admin.xlen(stream), 'entries in the stream').to.equal(600);
      expect(receipts.flatMap((r) => r.failed)).to.deep.equal([]);
      expect(receipts.reduce((sum, r) => sum + r.transactions.length, 0)).to.equal(600);
      expect(new Set(receipts.map((r) => r.attempts))).to.deep.equal(new Set([1]));
    } finally {
      await connector.close();
    }
  });

  it('a batch whose signal already aborted is not sent: rejects with the reason', async () => {
    const stream = uniqueName('ergon_redis_aborted');
    const connector = new RedisConnector<{ n: number }>({
      stream,
      connection: { url: broker.url },
    });
    try {
      const controller = new AbortController();
      const reason = new Error('attempt timed out');
      controller.abort(reason);
      const error = await connector
        .dispatch(numbered('aborted', 3), { signal: controller.signal })
        .then(
          () => null,
          (failure: unknown) => failure,
        );
      expect(error).to.equal(reason);
      expect(await admin.xlen(stream)).to.equal(0);
    } finally {
      await connector.close();
    }
  });
});
