import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnector } from '../../../lib/connectors/redis/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  adminClient,
  idsIn,
  numbered,
  pendingCount,
  startConsumer,
  waitFor,
  type ConsumerProcess,
} from './fixtures/redis-spec-support.js';

describe('RedisConnector across processes (real Redis)', function () {
  this.timeout(40_000);
  let admin: Redis;
  const producers: RedisConnector[] = [];
  let directory: string;
  const streams: string[] = [];
  const children: ConsumerProcess[] = [];

  before(async function () {
    await requireService(this, 'redis');
    admin = adminClient();
    directory = mkdtempSync(join(tmpdir(), 'ergon-redis-'));
  });

  after(async () => {
    for (const child of children) child.child.kill('SIGKILL');
    await Promise.all(producers.map((producer) => producer.close()));
    if (streams.length > 0) await admin?.del(...streams);
    admin?.disconnect();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  function producerFor(stream: string): RedisConnector {
    streams.push(stream, `${stream}:dead`);
    const producer = new RedisConnector({ stream });
    producers.push(producer);
    return producer;
  }

  function consumer(options: Parameters<typeof startConsumer>[0]): ConsumerProcess {
    const child = startConsumer(options);
    children.push(child);
    return child;
  }

  it('two consumer processes share one stream: each transaction is processed by exactly one', async () => {
    const stream = uniqueName('ergon_redis');
    const sent = numbered('shared', 300);
    const files = [join(directory, 'a.ids'), join(directory, 'b.ids')];
    const [a, b] = files.map((out) =>
      consumer({ stream, group: 'ergon', claimIdle: 30_000, out, workMs: 3, concurrency: 8 }),
    ) as [ConsumerProcess, ConsumerProcess];
    await Promise.all([a.ready, b.ready]);
    await producerFor(stream).dispatch(sent);
    await waitFor('all processed', () => files.flatMap(idsIn).length >= sent.length, 20_000);
    await waitFor(
      'nothing pending',
      async () => (await pendingCount(admin, stream, 'ergon')) === 0,
    );
    a.stop();
    b.stop();
    expect(await a.exited).to.equal(0);
    expect(await b.exited).to.equal(0);

    const [byA, byB] = files.map(idsIn) as [string[], string[]];
    expect(byA.length, 'a processed some').to.be.greaterThan(0);
    expect(byB.length, 'b processed some').to.be.greaterThan(0);
    const inBoth = byA.filter((id) => new Set(byB).has(id));
    expect(inBoth).to.deep.equal([]);
    expect(new Set(byA).size).to.equal(byA.length);
    expect(new Set(byB).size).to.equal(byB.length);
    expect([...byA, ...byB].sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
  });

  for (const restart of [
    'a new consumer name (claimed after claimIdle)',
    'the same consumer name (recovered at once)',
  ]) {
    it(`a consumer killed with SIGKILL mid-batch loses nothing: restarted under ${restart}`, async () => {
      const sameName = restart.startsWith('the same');
      const stream = uniqueName('ergon_redis');
      const sent = numbered('kill', 120);
      const first = join(directory, `${sameName ? 'same' : 'new'}-first.ids`);
      const second = join(directory, `${sameName ? 'same' : 'new'}-second.ids`);
      const name = sameName ? uniqueName('stable') : undefined;
      const claimIdle = sameName ? 60_000 : 500;
      await producerFor(stream).dispatch(sent);

      const victim = consumer({
        stream,
        group: 'ergon',
        consumer: name,
        claimIdle,
        out: first,
        workMs: 50,
        concurrency: 10,
      });
      await victim.ready;
      await waitFor('the victim mid-batch', () => idsIn(first).length >= 25);
      victim.child.kill('SIGKILL');
      expect(await victim.exited).to.equal('SIGKILL');
      const pendingAtKill = await pendingCount(admin, stream, 'ergon');
      expect(pendingAtKill, 'in flight at the kill').to.be.greaterThan(0);

      const started = Date.now();
      const heir = consumer({
        stream,
        group: 'ergon',
        consumer: name,
        claimIdle,
        out: second,
        workMs: 1,
        concurrency: 10,
      });
      await heir.ready;
      await waitFor(
        'every id processed',
        () => new Set([...idsIn(first), ...idsIn(second)]).size >= sent.length,
        20_000,
      );
      await waitFor(
        'nothing pending',
        async () => (await pendingCount(admin, stream, 'ergon')) === 0,
      );
      const took = Date.now() - started;
      heir.stop();
      expect(await heir.exited).to.equal(0);

      const all = new Set([...idsIn(first), ...idsIn(second)]);
      for (const tx of sent) expect(all.has(tx.id), tx.id).to.equal(true);
      const redone = idsIn(second).filter((id) => new Set(idsIn(first)).has(id));
      expect(redone.length, 'ids the victim had started, processed again').to.be.greaterThan(0);
      if (sameName) expect(took, 'no wait for claimIdle').to.be.below(10_000);
    });
  }
});
