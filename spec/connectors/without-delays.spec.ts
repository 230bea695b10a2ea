import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DelayedReleaseUnsupportedError,
  RetryLaterError,
  TransactionError,
  type Connector,
  type DispatchReport,
  type Transaction,
} from '../../lib/index.js';
import type { KafkaConnector } from '../../lib/connectors/kafka/index.js';
import { S3Connector } from '../../lib/connectors/s3/index.js';
import { requireService } from '../support/real-service.js';
import { kafkaSuite } from './kafka/fixtures/kafka-suite.js';
import {
  adminClient as s3Admin,
  bucketName,
  createBucket,
  emptyBucket,
  keysOf,
  metadataOf,
  s3Connection,
} from './s3/fixtures/s3-spec-support.js';

// docs/scheduling.md, "A connector that cannot delay": Kafka and S3 declare no scheduling, and
// against the real servers a RetryLaterError is dead-lettered (never redelivered at once,
// which would spin), durableAfter is refused before the run starts, and a future notBefore
// fails its own dispatch instead of being delivered early.

type Payload = { n: number };

const none = { delayedRelease: false, notBefore: false, priority: false };

/** One transaction per `n`, with ids `<prefix>-<n>`. */
const numbered = (prefix: string, count: number): Transaction<Payload>[] =>
  Array.from({ length: count }, (_, n) => createTransaction({ n }, { id: `${prefix}-${n}` }));

/** A task that retries transaction 0 later and succeeds with the others. */
const retryingZero = consumerTask({
  process: (tx: Transaction<Payload>) => {
    if (tx.payload.n === 0) throw new RetryLaterError(60_000, 'stock arrives tomorrow');
    return tx.payload.n;
  },
});

/**
 * What every connector without delays does, given a fresh one on a fresh source;
 * `deadLetterOf` reads the dead letter of `later-0` back from where the connector keeps it.
 */
function withoutDelays<
  C extends Omit<Connector<Payload>, 'dispatch'> & {
    dispatch(txs: readonly Transaction<Payload>[]): Promise<DispatchReport<Payload>>;
  },
>(
  open: () => Promise<C>,
  limit: number,
  deadLetterOf: (connector: C) => Promise<{ id: string; error: string }>,
): void {
  it('declares no scheduling', async () => {
    expect((await open()).scheduling).to.deep.equal(none);
  });

  it('a RetryLaterError is dead-lettered with a DelayedReleaseUnsupportedError, the others go on', async () => {
    const connector = await open();
    await connector.dispatch(numbered('later', limit));
    const outcomes = await lastValueFrom(
      consume(connector, retryingZero, {
        loop: { mode: 'continuous', streaming: true, limit },
        fetch: { empty: { backoff: 50, backoffMultiplier: 1 } },
      }).pipe(toArray()),
    );
    const byId = new Map(outcomes.map((outcome) => [outcome.transaction.id, outcome]));
    expect([...byId.keys()].sort()).to.deep.equal(
      numbered('later', limit)
        .map((tx) => tx.id)
        .sort(),
    );
    const zero = byId.get('later-0');
    expect(zero?.status).to.equal('failed');
    const error = zero?.status === 'failed' ? zero.error : undefined;
    expect(error).to.be.instanceOf(TransactionError);
    expect(error?.cause).to.be.instanceOf(DelayedReleaseUnsupportedError);
    expect(error?.message).to.match(/cannot hold a transaction back.*dead-lettered instead/);
    expect(zero).to.not.have.property('settleError');
    for (const [id, outcome] of byId)
      if (id !== 'later-0') expect(outcome.status).to.equal('success');
    const dead = await deadLetterOf(connector);
    expect(dead.id).to.equal('later-0');
    expect(dead.error).to.match(/cannot hold a transaction back/);
  });

  it('process.retry.durableAfter is refused at once', async () => {
    const connector = await open();
    expect(() =>
      consume(connector, retryingZero, { process: { retry: { durableAfter: '30s' } } }),
    ).to.throw(DelayedReleaseUnsupportedError, /durableAfter.*cannot hold them back/);
  });

  it('a future metadata.notBefore fails that transaction with a ScheduleError; the rest are sent', async () => {
    const connector = await open();
    const later = createTransaction<Payload>(
      { n: 1 },
      { id: 'scheduled', metadata: { notBefore: new Date(Date.now() + 60_000) } },
    );
    const past = createTransaction<Payload>(
      { n: 2 },
      { id: 'past', metadata: { notBefore: new Date(Date.now() - 1000) } },
    );
    const report = await connector.dispatch([later, past]);
    expect(report.failed.map((f) => [f.transaction.id, (f.error as Error).name])).to.deep.equal([
      ['scheduled', 'ScheduleError'],
    ]);
    expect((report.failed[0]?.error as Error).message).to.match(
      /metadata\.notBefore .* writes at once and cannot hold it back/,
    );
  });
}

describe('connectors without delays: Kafka (real Kafka)', function () {
  this.timeout(60_000);
  const suite = kafkaSuite<Payload>();
  const open = (topic: string): KafkaConnector<Payload> => suite.open({ topic });

  withoutDelays(
    () => Promise.resolve(open(suite.newTopic('ergon_nodelay'))),
    3,
    async (connector) => {
      const dead = open(connector.deadLetterTopic);
      const got: Transaction<Payload>[] = [];
      for (let tries = 0; tries < 50 && got.length === 0; tries++) {
        got.push(...(await lastValueFrom(dead.fetch({ size: 10, extra: {} }).pipe(toArray()))));
      }
      const headers = (got[0]?.metadata['headers'] ?? {}) as Record<string, string>;
      expect(got).to.have.length(1);
      return { id: got[0]?.id ?? '', error: headers['ergon-error'] ?? '' };
    },
  );
});

describe('connectors without delays: S3 (real S3Mock)', function () {
  this.timeout(20_000);
  let admin: S3Client;
  const buckets: string[] = [];
  const connectors: S3Connector<Payload>[] = [];

  before(async function () {
    await requireService(this, 's3');
    admin = s3Admin();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    if (admin === undefined) return;
    for (const bucket of buckets) await emptyBucket(admin, bucket);
    admin.destroy();
  });

  withoutDelays(
    async () => {
      const bucket = bucketName('ergon-nodelay');
      await createBucket(admin, bucket);
      buckets.push(bucket);
      const connector = new S3Connector<Payload>({
        connection: s3Connection,
        bucket,
        prefix: 'in/',
      });
      connectors.push(connector);
      return connector;
    },
    3,
    async (connector) => {
      const bucket = connector.config.bucket;
      const keys = await keysOf(admin, bucket, 'failed/');
      expect(keys).to.have.length(1);
      const metadata = await metadataOf(admin, bucket, keys[0] as string);
      return { id: metadata['ergon-id'] ?? '', error: metadata['ergon-error'] ?? '' };
    },
  );
});
