import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, Subject, toArray } from 'rxjs';
import type { Redis } from 'ioredis';
import {
  ConnectorClosedError,
  consume,
  consumerTask,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import { RedisConnector, RedisService } from '../../../lib/connectors/redis/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  adminClient,
  deliverTo,
  isBlocked,
  killClients,
  numbered,
  pendingCount,
  waitFor,
} from './fixtures/redis-spec-support.js';

type Payload = { n: number };

function fetchAll<P>(connector: RedisConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisConnector resilience (real Redis)', function () {
  let admin: Redis;
  const streams: string[] = [];
  const closables: { close(): Promise<void> }[] = [];

  before(async function () {
    await requireService(this, 'redis');
    admin = adminClient();
  });

  after(async () => {
    await Promise.all(closables.map((closable) => closable.close()));
    if (streams.length > 0) await admin?.del(...streams);
    admin?.disconnect();
  });

  function track<T extends { close(): Promise<void> }>(closable: T): T {
    closables.push(closable);
    return closable;
  }

  it('survives its connections being killed by the server (CLIENT KILL), even during a blocked read', async () => {
    const stream = uniqueName('ergon_redis');
    const name = uniqueName('ergon_cut');
    streams.push(stream, `${stream}:dead`);
    const connector = track(
      new RedisConnector<Payload>({
        stream,
        fetchWait: 2000,
        connection: { name, reconnect: { backoff: 20, backoffCap: 200 } },
      }),
    );
    const processed: string[] = [];
    const task = consumerTask({
      process: async (tx: Transaction<Payload>) => {
        processed.push(tx.id);
        await sleep(2);
      },
    });
    const stop$ = new Subject<void>();
    const outcomes: Outcome<Payload, void>[] = [];
    const done = new Promise<void>((resolve, reject) =>
      consume(
        connector,
        task,
        {
          loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true },
          fetch: { empty: { backoff: 10, backoffCap: 50 } },
        },
        { stop$ },
      ).subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve }),
    );

    await connector.dispatch(numbered('cut', 300));
    await waitFor('some progress', () => processed.length >= 50);
    expect(await killClients(admin, name)).to.equal(2);
    await waitFor('all 300 processed', () => new Set(processed).size >= 300);

    // Now the loop is idle, blocked in XREADGROUP: cut it there too.
    await waitFor('a blocked read', () => isBlocked(admin, `${name}:read:`));
    const health = await firstValueFrom(connector.health());
    expect(health.healthy).to.equal(true);
    expect(await killClients(admin, name)).to.equal(2);
    await connector.dispatch(numbered('after', 50));
    await waitFor('all 350 processed', () => new Set(processed).size >= 350, 15_000);
    stop$.next();
    await done;

    const ids = new Set(processed);
    for (const tx of [...numbered('cut', 300), ...numbered('after', 50)]) {
      expect(ids.has(tx.id), tx.id).to.equal(true);
    }
    const statuses = new Set(outcomes.map((outcome) => outcome.status));
    expect([...statuses]).to.deep.equal(['success']);
    expect(await pendingCount(admin, stream, 'ergon')).to.equal(0);
  });

  it('redelivers at once entries pending for its consumer name that it does not hold (lost in transit, or left by a previous process)', async () => {
    const stream = uniqueName('ergon_redis');
    const name = uniqueName('ergon_lost');
    const consumer = uniqueName('fixed');
    streams.push(stream, `${stream}:dead`);
    const connector = track(
      new RedisConnector<Payload>({
        stream,
        consumer,
        fetchWait: 50,
        claimIdle: 60_000,
        connection: { name, reconnect: { backoff: 20 } },
      }),
    );
    await connector.dispatch(numbered('left', 2));
    await admin.xgroup('CREATE', stream, 'ergon', '0');
    await deliverTo(admin, stream, 'ergon', consumer, 2);
    const recovered = await fetchAll(connector, 5);
    expect(recovered.map((tx) => [tx.id, tx.metadata['deliveries']])).to.deep.equal([
      ['left-0', 2],
      ['left-1', 2],
    ]);

    await connector.dispatch(numbered('transit', 1));
    await deliverTo(admin, stream, 'ergon', consumer, 1);
    expect(await fetchAll(connector, 5)).to.deep.equal([]);
    expect(await killClients(admin, name)).to.equal(2);
    await waitFor('a reconnect', async () => (await firstValueFrom(connector.health())).healthy);
    const afterCut = await fetchAll(connector, 5);
    expect(afterCut.map((tx) => tx.id)).to.deep.equal(['transit-0']);
    for (const tx of [...recovered, ...afterCut]) await connector.settle(tx, { type: 'ack' });
    expect(await pendingCount(admin, stream, 'ergon')).to.equal(0);
  });

  it('renews the lease of entries in flight: a slow transaction is not claimed by another consumer', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const slow = track(new RedisConnector<Payload>({ stream, fetchWait: 50, claimIdle: 600 }));
    const other = track(new RedisConnector<Payload>({ stream, fetchWait: 50, claimIdle: 600 }));
    await slow.dispatch(numbered('slow', 1));
    const [held] = await fetchAll(slow, 1);
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) expect(await fetchAll(other, 5)).to.deep.equal([]);
    await slow.settle(held as Transaction<Payload>, { type: 'ack' });
    expect(await pendingCount(admin, stream, 'ergon')).to.equal(0);
  });

  it('recreates the stream and group when Redis lost them (a restart without persistence)', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const connector = track(new RedisConnector<Payload>({ stream, fetchWait: 50 }));
    await connector.dispatch(numbered('lost', 1));
    for (const tx of await fetchAll(connector, 1)) await connector.settle(tx, { type: 'ack' });
    await admin.del(stream);
    await connector.dispatch(numbered('back', 2));
    await admin.del(stream);
    expect(await fetchAll(connector, 5)).to.deep.equal([]);
    await connector.dispatch(numbered('back', 2));
    const fetched = await fetchAll(connector, 5);
    expect(fetched.map((tx) => tx.id)).to.deep.equal(['back-0', 'back-1']);
    for (const tx of fetched) await connector.settle(tx, { type: 'ack' });
  });

  it('unsubscribing a blocked fetch ends the wait at once and loses nothing', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const connector = track(new RedisConnector<Payload>({ stream, fetchWait: 10_000 }));
    await connector.dispatch(numbered('warm', 1));
    for (const tx of await fetchAll(connector, 1)) await connector.settle(tx, { type: 'ack' });

    const subscription = connector.fetch({ size: 5, extra: {} }).subscribe();
    await sleep(100);
    subscription.unsubscribe();
    const started = Date.now();
    await connector.dispatch(numbered('next', 1));
    const fetched = await fetchAll(connector, 5);
    expect(Date.now() - started).to.be.below(1000);
    expect(fetched.map((tx) => tx.id)).to.deep.equal(['next-0']);
    for (const tx of fetched) await connector.settle(tx, { type: 'ack' });
    expect(await pendingCount(admin, stream, 'ergon')).to.equal(0);
  });

  it('unsubscribing a blocked fetch that was resent after a reconnect still ends it at once', async () => {
    const stream = uniqueName('ergon_redis');
    const name = uniqueName('ergon_resent');
    streams.push(stream, `${stream}:dead`);
    const connector = track(
      new RedisConnector<Payload>({
        stream,
        fetchWait: 10_000,
        connection: { name, reconnect: { backoff: 20 } },
      }),
    );
    await connector.dispatch(numbered('warm', 1));
    for (const tx of await fetchAll(connector, 1)) await connector.settle(tx, { type: 'ack' });

    const subscription = connector.fetch({ size: 5, extra: {} }).subscribe();
    await waitFor('a blocked read', () => isBlocked(admin, `${name}:read:`));
    expect(await killClients(admin, `${name}:read:`)).to.equal(1);
    await sleep(50);
    await waitFor('the read resent and blocked', () => isBlocked(admin, `${name}:read:`));
    subscription.unsubscribe();
    await waitFor(
      'the read unblocked',
      async () => !(await isBlocked(admin, `${name}:read:`)),
      2000,
    );
    await connector.dispatch(numbered('next', 1));
    const fetched = await fetchAll(connector, 5);
    expect(fetched.map((tx) => tx.id)).to.deep.equal(['next-0']);
    for (const tx of fetched) await connector.settle(tx, { type: 'ack' });
  });

  it('close() is prompt, even during a blocked fetch, and hands unsettled entries to another consumer at once', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const a = new RedisConnector<Payload>({ stream, fetchWait: 10_000, claimIdle: 60_000 });
    const b = track(new RedisConnector<Payload>({ stream, fetchWait: 50, claimIdle: 60_000 }));
    await a.dispatch(numbered('held', 5));
    const held = await fetchAll(a, 5);
    expect(held).to.have.length(5);

    let fetchError: unknown;
    a.fetch({ size: 5, extra: {} }).subscribe({ error: (error: unknown) => (fetchError = error) });
    await sleep(100);
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).to.be.below(1000);
    expect(fetchError).to.be.instanceOf(ConnectorClosedError);

    let settleError: unknown;
    await a
      .settle(held[0] as Transaction<Payload>, { type: 'ack' })
      .catch((e: unknown) => (settleError = e));
    expect(settleError).to.have.property('name', 'DeliveryLostError');

    const taken = await fetchAll(b, 10);
    expect(taken.map((tx) => tx.id).sort()).to.deep.equal(held.map((tx) => tx.id).sort());
    for (const tx of taken) await b.settle(tx, { type: 'ack' });
    expect(await pendingCount(admin, stream, 'ergon')).to.equal(0);
    const consumers = (await admin.xinfo('CONSUMERS', stream, 'ergon')) as unknown[][];
    const names = consumers.map((info) => info[1]);
    expect(names).to.include(a.consumer);
  });

  it('close() deletes the consumer from the group when it held nothing', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const connector = new RedisConnector<Payload>({ stream, fetchWait: 50 });
    await connector.dispatch(numbered('tidy', 1));
    for (const tx of await fetchAll(connector, 1)) await connector.settle(tx, { type: 'ack' });
    await connector.close();
    const consumers = (await admin.xinfo('CONSUMERS', stream, 'ergon')) as unknown[][];
    expect(consumers).to.deep.equal([]);
    expect(await firstValueFrom(connector.health())).to.deep.equal({
      healthy: false,
      state: 'closed',
    });
    expect(() =>
      connector.fetch({ size: 1, extra: {} }).subscribe({ error: () => undefined }),
    ).to.not.throw();
  });

  it('connectors can share a service, which their close leaves open', async () => {
    const stream = uniqueName('ergon_redis');
    streams.push(stream, `${stream}:dead`);
    const service = track(new RedisService());
    const a = new RedisConnector<Payload>({ stream, fetchWait: 50 }, service);
    const b = new RedisConnector<Payload>({ stream, fetchWait: 50 }, service);
    await a.dispatch(numbered('shared', 4));
    const fromA = await fetchAll(a, 2);
    const fromB = await fetchAll(b, 2);
    for (const tx of fromA) await a.settle(tx, { type: 'ack' });
    for (const tx of fromB) await b.settle(tx, { type: 'ack' });
    await a.close();
    expect(service.health()).to.deep.equal({ healthy: true, state: 'connected' });
    await b.close();
    expect([...fromA, ...fromB].map((tx) => tx.id).sort()).to.deep.equal(
      numbered('shared', 4).map((tx) => tx.id),
    );
  });
});
