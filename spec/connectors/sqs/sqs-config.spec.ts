import { expect } from 'chai';
import fc from 'fast-check';
import { PolicyError } from '../../../lib/index.js';
import { sqsConnectorConfig } from '../../../lib/connectors/sqs/index.js';
import { s3ConnectorConfig } from '../../../lib/connectors/s3/index.js';
import { EntryBatcher } from '../../../lib/connectors/sqs/internal/entry-batcher.js';

function policyError(decode: () => unknown): PolicyError {
  try {
    decode();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('decoded');
}

describe('SQS and S3 connector configs', () => {
  it('fill defaults', () => {
    const sqs = sqsConnectorConfig({ queue: 'orders' });
    expect(sqs).to.include({
      queue: 'orders',
      deadLetterQueue: null,
      create: true,
      maxReceiveCount: 5,
      visibilityTimeout: 30_000,
      fetchWait: 1000,
      delay: 0,
    });
    expect(sqs.connection).to.include({ endpoint: null, region: 'us-east-1', credentials: null });
    const s3 = s3ConnectorConfig({ bucket: 'inbox' });
    expect(s3).to.include({
      prefix: '',
      donePrefix: 'done/',
      failedPrefix: 'failed/',
      claimPrefix: 'claims/',
      format: 'object',
      onAck: 'move',
      claims: true,
      claimTtl: 60_000,
      partition: null,
    });
  });

  it('name every wrong path: unknown keys, durations SQS cannot express, bad prefixes', () => {
    const sqs = policyError(() =>
      sqsConnectorConfig({
        queue: 'no spaces allowed',
        visibilityTimeout: 1500,
        fetchWait: '30s',
        connection: { endpoint: 'ftp://x', credentials: { accessKeyId: 'a' } },
        visibilityTimout: 1,
      } as never),
    );
    expect(sqs.issues.map((issue) => issue.path).sort()).to.deep.equal([
      'connection.credentials.secretAccessKey',
      'connection.endpoint',
      'fetchWait',
      'queue',
      'visibilityTimeout',
      'visibilityTimout',
    ]);
    expect(sqs.message).to.match(/visibilityTimeout: expected whole seconds from 1 s to 43200 s/);
    expect(sqs.message).to.match(
      /visibilityTimout: expected no such key \(did you mean "visibilityTimeout"\?\)/,
    );
    const s3 = policyError(() =>
      s3ConnectorConfig({
        bucket: 'b',
        prefix: 'in',
        format: 'csv',
        partition: { index: 2, count: 2 },
      }),
    );
    expect(s3.issues.map((issue) => issue.path).sort()).to.deep.equal([
      'format',
      'partition',
      'prefix',
    ]);
  });

  it('EntryBatcher: every entry settles by its own result, in requests of at most 10 (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 45 }),
        fc.array(fc.boolean(), { maxLength: 5 }),
        async (entryFails, requestFails) => {
          const sizes: number[] = [];
          let request = 0;
          const batcher = new EntryBatcher<number>((entries) => {
            sizes.push(entries.length);
            if (requestFails[request++] === true) return Promise.reject(new Error('request'));
            const failures = new Map<string, unknown>();
            entries.forEach((entry, i) => {
              if (entryFails[entry] === true) failures.set(String(i), new Error(`entry ${entry}`));
            });
            return Promise.resolve(failures);
          });
          const results = await Promise.allSettled(entryFails.map((_, n) => batcher.add(n)));
          expect(sizes.every((size) => size <= 10)).to.equal(true);
          expect(sizes.reduce((a, b) => a + b, 0)).to.equal(entryFails.length);
          results.forEach((result, n) => {
            const failedRequest = requestFails[Math.floor(n / 10)] === true;
            const expected = failedRequest || entryFails[n] === true ? 'rejected' : 'fulfilled';
            expect(result.status, `entry ${n}`).to.equal(expected);
          });
        },
      ),
    );
  });
});
