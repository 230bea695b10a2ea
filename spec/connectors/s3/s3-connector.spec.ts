import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  SettlementError,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import {
  S3Connector,
  type S3ConnectorConfigInput,
  type S3TransactionMetadata,
} from '../../../lib/connectors/s3/index.js';
import { requireService } from '../../support/real-service.js';
import {
  adminClient,
  bucketName,
  createBucket,
  emptyBucket,
  fetchAll,
  keysOf,
  metadataOf,
  put,
  s3Connection,
  textOf,
} from './fixtures/s3-spec-support.js';

type Payload = { n: number };

function s3MetadataOf(tx: Transaction): S3TransactionMetadata {
  return tx.metadata as unknown as S3TransactionMetadata;
}

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('S3Connector (real S3Mock)', function () {
  this.timeout(20_000);
  let admin: S3Client;
  const buckets: string[] = [];
  const connectors: S3Connector[] = [];

  async function connectorFor<P = Payload>(
    extra: Partial<S3ConnectorConfigInput<P>> = {},
    bucket?: string,
  ): Promise<S3Connector<P>> {
    let name = bucket;
    if (name === undefined) {
      name = bucketName('ergon-s3');
      await createBucket(admin, name);
      buckets.push(name);
    }
    const connector = new S3Connector<P>({
      connection: s3Connection,
      bucket: name,
      prefix: 'in/',
      ...extra,
    });
    connectors.push(connector);
    return connector;
  }

  before(async function () {
    await requireService(this, 's3');
    admin = adminClient();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    if (admin === undefined) return;
    for (const bucket of buckets) await emptyBucket(admin, bucket);
    admin.destroy();
  });

  it('fetch yields one transaction per object under the prefix, never more than asked', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    for (let n = 0; n < 5; n++) await put(admin, bucket, `in/o-${n}.json`, JSON.stringify({ n }));
    await put(admin, bucket, 'elsewhere/x.json', '{"n":99}');
    const first = await fetchAll(connector, 3);
    expect(first).to.have.length(3);
    const rest = await fetchAll(connector, 10);
    expect(rest).to.have.length(2);
    const all = [...first, ...rest];
    expect(all.map((tx) => tx.payload.n).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(s3MetadataOf(all[0] as Transaction).objectKey).to.match(/^in\/o-\d\.json$/);
    expect(await fetchAll(connector, 10)).to.deep.equal([]);
    await Promise.all(all.map((tx) => connector.settle(tx, { type: 'ack' })));
  });

  it('ack moves the object to done/ (or deletes it with onAck: delete) and drops its claim', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    await put(admin, bucket, 'in/a.json', '{"n":1}');
    const [tx] = await fetchAll(connector, 1);
    expect(await keysOf(admin, bucket, 'claims/')).to.deep.equal(['claims/in/a.json']);
    await connector.settle(tx as Transaction<Payload>, { type: 'ack' });
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/a.json']);
    expect(await textOf(admin, bucket, 'done/a.json')).to.equal('{"n":1}');

    const deleting = await connectorFor({ onAck: 'delete' }, bucket);
    await put(admin, bucket, 'in/b.json', '{"n":2}');
    const [other] = await fetchAll(deleting, 1);
    await deleting.settle(other as Transaction<Payload>, { type: 'ack' });
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/a.json']);
  });

  it('deadLetter moves the object to failed/ with the error as metadata', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    await put(admin, bucket, 'in/bad.json', '{"n":0}');
    await put(admin, bucket, 'in/good.json', '{"n":1}');
    const task = consumerTask({
      process: (tx: Transaction<Payload>) => {
        if (tx.payload.n === 0) throw new Error('no stock for item 0');
        return tx.payload.n;
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((o) => o.status).sort()).to.deep.equal(['failed', 'success']);
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/good.json', 'failed/bad.json']);
    const metadata = await metadataOf(admin, bucket, 'failed/bad.json');
    expect(metadata).to.include({
      'ergon-error-category': 'system',
      'ergon-error-stage': 'process',
      'ergon-source-key': 'in/bad.json',
    });
    expect(metadata['ergon-error']).to.match(/no stock for item 0/);
  });

  it('release leaves the object and hands its claim back: fetched again at once', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    await put(admin, bucket, 'in/r.json', '{"n":1}');
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
    expect(await keysOf(admin, bucket)).to.deep.equal(['in/r.json']);
    const other = await connectorFor({}, bucket);
    const [again] = await fetchAll(other, 1);
    expect(again?.id).to.equal('in/r.json');
    await other.settle(again as Transaction<Payload>, { type: 'ack' });
  });

  it('settles exactly once: a second settle rejects and moves nothing', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    await put(admin, bucket, 'in/once.json', '{"n":1}');
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Payload>, { type: 'ack' });
    let error: unknown;
    try {
      await connector.settle(tx as Transaction<Payload>, {
        type: 'deadLetter',
        error: new TransactionError('x'),
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(SettlementError);
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/once.json']);
  });

  it('claims: an object claimed by one connector is refused to another until settled', async () => {
    // Sequential on purpose: S3Mock's conditional writes are not atomic under concurrent
    // requests (two writers may both win), so concurrent workers on it use `partition`
    // (below); on AWS S3 `If-None-Match: *` is atomic.
    const a = await connectorFor();
    const bucket = a.config.bucket;
    const b = await connectorFor({}, bucket);
    for (let n = 0; n < 12; n++) await put(admin, bucket, `in/c-${n}.json`, JSON.stringify({ n }));
    const fromA = await fetchAll(a, 8);
    const fromB = await fetchAll(b, 100);
    expect(fromA).to.have.length(8);
    expect(fromB).to.have.length(4);
    expect(new Set([...fromA, ...fromB].map((tx) => tx.id)).size).to.equal(12);
    await Promise.all(fromA.slice(0, 4).map((tx) => a.settle(tx, { type: 'ack' })));
    await Promise.all(
      fromA.slice(4).map((tx) => a.settle(tx, { type: 'release', reason: 'shutdown' })),
    );
    const released = await fetchAll(b, 100);
    expect(released.map((tx) => tx.id).sort()).to.deep.equal(
      fromA
        .slice(4)
        .map((tx) => tx.id)
        .sort(),
    );
    await Promise.all([...fromB, ...released].map((tx) => b.settle(tx, { type: 'ack' })));
    expect(await keysOf(admin, bucket, 'in/')).to.deep.equal([]);
    expect(await keysOf(admin, bucket, 'claims/')).to.deep.equal([]);
    expect(await keysOf(admin, bucket, 'done/')).to.have.length(12);
  });

  it('a claim whose owner died is taken over after claimTtl', async () => {
    const dead = await connectorFor({ claimTtl: '600ms' });
    const bucket = dead.config.bucket;
    await put(admin, bucket, 'in/orphan.json', '{"n":1}');
    expect(await fetchAll(dead, 1)).to.have.length(1);
    // The owner stalls (no renewal: its heartbeat is stopped by closing its client only).
    const live = await connectorFor({ claimTtl: '600ms' }, bucket);
    expect(await fetchAll(live, 1), 'claimed by the first').to.deep.equal([]);
    (dead as unknown as { heartbeat: NodeJS.Timeout | null }).heartbeat?.close();
    await new Promise((resolve) => setTimeout(resolve, 900));
    const [taken] = await fetchAll(live, 1);
    expect(taken?.id).to.equal('in/orphan.json');
    await live.settle(taken as Transaction<Payload>, { type: 'ack' });
  });

  it('carries id, metadata.key and the trace context across a hop (object per transaction)', async () => {
    const producer = await connectorFor();
    const bucket = producer.config.bucket;
    await producer.dispatch([
      createTransaction({ n: 7 }, { id: 'hop-7', metadata: { key: 'customer-42', traceparent } }),
    ]);
    expect(await keysOf(admin, bucket)).to.deep.equal(['in/hop-7.json']);
    const consumer = await connectorFor({}, bucket);
    const [tx] = await fetchAll(consumer, 1);
    expect(tx?.id).to.equal('hop-7');
    expect(tx?.payload).to.deep.equal({ n: 7 });
    expect(tx?.metadata).to.include({ key: 'customer-42', traceparent });
    await consumer.settle(tx as Transaction<Payload>, { type: 'ack' });
  });

  it('an undecodable object becomes a decode error for the exception handler', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    await put(admin, bucket, 'in/garbage.json', 'not json {');
    const seen: TransactionError[] = [];
    const task = consumerTask({
      process: (tx: Transaction<Payload>) => tx.payload.n,
      onException: (_tx, error) => {
        seen.push(error);
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((o) => o.status)).to.deep.equal(['exception']);
    expect(seen[0]?.stage).to.equal('decode');
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/garbage.json']);
  });

  describe('JSON lines', () => {
    it('yields one transaction per line, read in chunks; the last ack moves the object to done/', async () => {
      const connector = await connectorFor({ format: 'jsonLines', readChunk: 16 });
      const bucket = connector.config.bucket;
      const lines = Array.from({ length: 12 }, (_, n) => JSON.stringify({ n }));
      await put(
        admin,
        bucket,
        'in/batch.jsonl',
        `${lines.slice(0, 5).join('\n')}\n\n${lines.slice(5).join('\n')}`,
      );
      const first = await fetchAll(connector, 5);
      expect(first.map((tx) => tx.payload.n)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(first.map((tx) => tx.id)).to.deep.equal(
        [1, 2, 3, 4, 5].map((l) => `in/batch.jsonl#${l}`),
      );
      const rest = await fetchAll(connector, 100);
      expect(rest.map((tx) => tx.payload.n)).to.deep.equal([5, 6, 7, 8, 9, 10, 11]);
      expect(s3MetadataOf(rest[0] as Transaction).line).to.equal(7);
      for (const tx of [...first, ...rest].slice(0, -1))
        await connector.settle(tx, { type: 'ack' });
      expect(await keysOf(admin, bucket, 'in/')).to.deep.equal(['in/batch.jsonl']);
      await connector.settle(rest[rest.length - 1] as Transaction<Payload>, { type: 'ack' });
      expect(await keysOf(admin, bucket)).to.deep.equal(['done/batch.jsonl']);
    });

    it('a failed line goes to failed/<name>#<line> with the error; an undecodable line is a decode error', async () => {
      const connector = await connectorFor({ format: 'jsonLines' });
      const bucket = connector.config.bucket;
      await put(admin, bucket, 'in/mixed.jsonl', '{"n":1}\n{"n":2}\nnot json\n');
      const task = consumerTask({
        process: (tx: Transaction<Payload>) => {
          if (tx.payload.n === 2) throw new Error('line two is wrong');
          return tx.payload.n;
        },
      });
      const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcomes.map((o) => o.status)).to.deep.equal(['success', 'failed', 'failed']);
      expect(outcomes[2]?.status === 'failed' && outcomes[2].error.stage).to.equal('decode');
      expect(await keysOf(admin, bucket)).to.deep.equal([
        'done/mixed.jsonl',
        'failed/mixed.jsonl#2',
        'failed/mixed.jsonl#3',
      ]);
      expect(await textOf(admin, bucket, 'failed/mixed.jsonl#2')).to.equal('{"n":2}');
      expect(await metadataOf(admin, bucket, 'failed/mixed.jsonl#2')).to.include({
        'ergon-line': '2',
        'ergon-source-key': 'in/mixed.jsonl',
      });
    });

    it('a restart resumes after the settled lines: close hands the claim back with its cursor', async () => {
      const first = await connectorFor({ format: 'jsonLines', readChunk: 8 });
      const bucket = first.config.bucket;
      const lines = Array.from({ length: 10 }, (_, n) => JSON.stringify({ n }));
      await put(admin, bucket, 'in/resume.jsonl', `${lines.join('\n')}\n`);
      const taken = await fetchAll(first, 6);
      for (const tx of taken.slice(0, 4)) await first.settle(tx, { type: 'ack' });
      await first.close();
      let lost: unknown;
      try {
        await first.settle(taken[4] as Transaction<Payload>, { type: 'ack' });
      } catch (e) {
        lost = e;
      }
      expect(lost).to.be.instanceOf(DeliveryLostError);
      const second = await connectorFor({ format: 'jsonLines' }, bucket);
      const resumed = await fetchAll(second, 100);
      expect(resumed.map((tx) => tx.payload.n)).to.deep.equal([4, 5, 6, 7, 8, 9]);
      for (const tx of resumed) await second.settle(tx, { type: 'ack' });
      expect(await keysOf(admin, bucket)).to.deep.equal(['done/resume.jsonl']);
    });

    it('dispatch writes one object per batch, a line per transaction', async () => {
      const producer = await connectorFor({ format: 'jsonLines' });
      const bucket = producer.config.bucket;
      const report = await producer.dispatch(
        Array.from({ length: 3 }, (_, n) =>
          createTransaction({ n }, { metadata: { traceparent } }),
        ),
      );
      expect(report.failed).to.deep.equal([]);
      const [key, ...others] = await keysOf(admin, bucket);
      expect(others).to.deep.equal([]);
      expect(key).to.match(/^in\/.*\.jsonl$/);
      expect(await textOf(admin, bucket, key as string)).to.equal('{"n":0}\n{"n":1}\n{"n":2}\n');
      const consumer = await connectorFor({ format: 'jsonLines' }, bucket);
      const received = await fetchAll(consumer, 10);
      expect(received.map((tx) => tx.payload.n)).to.deep.equal([0, 1, 2]);
      expect(received[0]?.metadata).to.include({ traceparent });
      for (const tx of received) await consumer.settle(tx, { type: 'ack' });
    });
  });

  it('partition: without claims, workers split the objects by key hash', async () => {
    const a = await connectorFor({ claims: false, partition: { index: 0, count: 2 } });
    const bucket = a.config.bucket;
    const b = await connectorFor({ claims: false, partition: { index: 1, count: 2 } }, bucket);
    for (let n = 0; n < 16; n++) await put(admin, bucket, `in/p-${n}.json`, JSON.stringify({ n }));
    const [fromA, fromB] = await Promise.all([fetchAll(a, 100), fetchAll(b, 100)]);
    expect(fromA.length).to.be.greaterThan(0);
    expect(fromB.length).to.be.greaterThan(0);
    expect(new Set([...fromA, ...fromB].map((tx) => tx.id)).size).to.equal(16);
    expect(fromA.length + fromB.length).to.equal(16);
  });

  it('count and health report the bucket', async () => {
    const connector = await connectorFor();
    const bucket = connector.config.bucket;
    for (let n = 0; n < 3; n++) await put(admin, bucket, `in/k-${n}.json`, '{}');
    await put(admin, bucket, 'done/old.json', '{}');
    expect(await lastValueFrom(connector.count())).to.equal(3);
    expect(await lastValueFrom(connector.health())).to.deep.equal({
      healthy: true,
      state: 'connected',
    });
  });
});
