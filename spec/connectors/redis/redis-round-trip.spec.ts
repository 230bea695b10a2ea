import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  jsonCodec,
  type PayloadCodec,
  type Transaction,
} from '../../../lib/index.js';
import type {
  RedisConnector,
  RedisTransactionMetadata,
} from '../../../lib/connectors/redis/index.js';
import { uniqueName } from '../../support/real-service.js';
import { entriesOf, numbered, pendingCount } from './fixtures/redis-spec-support.js';
import { redisSuite } from './fixtures/redis-suite.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('RedisConnector round trip (real Redis)', function () {
  const suite = redisSuite(100);

  function connectorFor(stream: string, extra: Partial<{ fetchWait: number }> = {}) {
    return suite.connector<{ n: number }>(stream, extra);
  }

  it('dispatches N, consumes them all with ids, payloads and traceparent kept, and acks them', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    const sent = numbered('rt', 200).map((tx, i) =>
      i === 0 ? createTransaction(tx.payload, { id: tx.id, metadata: { traceparent } }) : tx,
    );
    const report = await connector.dispatch(sent);
    expect(report.failed).to.deep.equal([]);
    expect(await firstValueFrom(connector.count())).to.equal(200);

    const seen: Transaction<{ n: number }>[] = [];
    const task = consumerTask({
      process: (tx: Transaction<{ n: number }>) => {
        seen.push(tx);
        return tx.payload.n;
      },
    });
    const outcomes = await lastValueFrom(
      consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: 16 } } }).pipe(
        toArray(),
      ),
    );
    expect(outcomes).to.have.length(200);
    expect(outcomes.every((outcome) => outcome.status === 'success')).to.equal(true);
    expect(seen.map((tx) => tx.id).sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
    for (const tx of seen) expect(tx.id).to.equal(`rt-${tx.payload.n}`);

    const first = seen.find((tx) => tx.id === 'rt-0') as Transaction;
    const metadata = first.metadata as unknown as RedisTransactionMetadata;
    expect(metadata.traceparent).to.equal(traceparent);
    expect(metadata.headers).to.deep.equal({ traceparent });
    expect(metadata).to.include({ stream, group: 'ergon', deliveries: 1, redelivered: false });
    expect(metadata.consumer).to.equal(connector.consumer);
    expect(metadata.entryId).to.match(/^\d+-\d+$/);
    expect(Object.keys(metadata)).to.not.include.members(['_message', 'deliveryTag']);

    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    expect(await firstValueFrom(connector.count())).to.equal(0);
    expect(connector.unsettled).to.equal(0);
  });

  it('stores the transaction id and the JSON body as fields of the entry', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch([
      createTransaction({ n: 1 }, { id: 'one', metadata: { traceparent } }),
    ]);
    const [entry] = await entriesOf(suite.admin, stream);
    expect(entry?.fields).to.deep.equal({ id: 'one', body: '{"n":1}', traceparent });
  });

  it('reports transactions the codec cannot encode, and sends the rest', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream) as unknown as RedisConnector;
    const good = createTransaction({ ok: true }, { id: 'good' });
    const bad = createTransaction(undefined, { id: 'bad' });
    const report = await connector.dispatch([good, bad]);
    expect(report.failed.map((failure) => failure.transaction.id)).to.deep.equal(['bad']);
    expect((await entriesOf(suite.admin, stream)).map((entry) => entry.fields['id'])).to.deep.equal(
      ['good'],
    );
  });

  it('reports every XADD Redis refuses (the key is not a stream)', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await suite.admin.set(stream, 'not a stream');
    const report = await connector.dispatch(numbered('wrong', 3));
    expect(report.failed).to.have.length(3);
    expect(String(report.failed[0]?.error)).to.match(/WRONGTYPE/);
  });

  it('uses a pluggable codec', async () => {
    const stream = uniqueName('ergon_redis');
    const upper: PayloadCodec<string> = {
      contentType: 'text/plain',
      encode: (payload) => new TextEncoder().encode(payload.toUpperCase()),
      decode: (body) => new TextDecoder().decode(body),
    };
    const connector = suite.connector<string>(stream, { codec: upper, fetchWait: 50 });
    await connector.dispatch([createTransaction('hello', { id: 'h' })]);
    const [tx] = await lastValueFrom(connector.fetch({ size: 5, extra: {} }).pipe(toArray()));
    expect(tx?.payload).to.equal('HELLO');
    await connector.settle(tx as Transaction<string>, { type: 'ack' });
    expect(jsonCodec.contentType).to.equal('application/json');
  });

  it('fetches at most the requested number, and waits at most fetchWait when there is nothing', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream, { fetchWait: 300 });
    await connector.dispatch(numbered('few', 5));
    const first = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
    expect(first.map((tx) => tx.id)).to.deep.equal(['few-0', 'few-1', 'few-2']);
    const second = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
    expect(second.map((tx) => tx.id)).to.deep.equal(['few-3', 'few-4']);
    const started = Date.now();
    const empty = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
    const waited = Date.now() - started;
    expect(empty).to.deep.equal([]);
    expect(waited).to.be.within(250, 1500);
    for (const tx of [...first, ...second]) await connector.settle(tx, { type: 'ack' });
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
  });

  it('finds a transaction by id, and reports its health', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch(numbered('find', 3));
    const found = await firstValueFrom(connector.fetchById('find-1'));
    expect(found?.payload).to.deep.equal({ n: 1 });
    expect(await firstValueFrom(connector.fetchById('nope'))).to.equal(undefined);
    const health = await firstValueFrom(connector.health());
    expect(health).to.deep.include({ healthy: true, state: 'connected' });
  });
});
