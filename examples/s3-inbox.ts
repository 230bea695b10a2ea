/**
 * S3: an inbox of JSON-lines files. A producer writes two batches of readings as two
 * `.jsonl` objects under `incoming/`; a consumer claims each object, processes it line by
 * line, writes an impossible reading alone to `failed/<name>#<line>` with the error, and moves
 * each finished file to `done/`.
 *
 * Needs an S3-compatible server on 127.0.0.1:9090 (scripts/services/s3.sh).
 * Run: npx tsx examples/s3-inbox.ts [readings per file]
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction, type Transaction } from '../lib/index.js';
import { S3Connector } from '../lib/connectors/s3/index.js';

interface Reading {
  readonly sensor: string;
  readonly celsius: number;
}

const perFile = Number(process.argv[2] ?? 50);
const bucket = `inbox-${randomBytes(4).toString('hex')}`;
const inbox = new S3Connector<Reading>({
  bucket,
  prefix: 'incoming/',
  format: 'jsonLines',
  connection: {
    endpoint: 'http://127.0.0.1:9090',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  },
});
await inbox.client.send(new CreateBucketCommand({ Bucket: bucket }));

for (let file = 0; file < 2; file++) {
  await inbox.dispatch(
    Array.from({ length: perFile }, (_, n) =>
      createTransaction({
        sensor: `s${file}-${n % 4}`,
        celsius: file === 1 && n === 7 ? 999 : 20 + (n % 5),
      }),
    ),
  );
}

let total = 0;
const task = consumerTask({
  process: (tx: Transaction<Reading>) => {
    if (tx.payload.celsius > 60) throw new Error(`impossible reading: ${tx.payload.celsius} °C`);
    total += tx.payload.celsius;
  },
});
const outcomes = await lastValueFrom(
  consume(inbox, task, { loop: { concurrency: { value: 8 } } }).pipe(toArray()),
);
const failed = outcomes.filter((outcome) => outcome.status === 'failed').length;
console.log(`${outcomes.length} readings, ${failed} failed, sum ${total}`);

const listing = await inbox.client.send(new ListObjectsV2Command({ Bucket: bucket }));
const keys = (listing.Contents ?? []).map(({ Key }) => Key ?? '').sort();
console.log(`done: ${keys.filter((key) => key.startsWith('done/')).length} files`);
for (const key of keys.filter((k) => k.startsWith('failed/'))) {
  const head = await inbox.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  console.log(
    `failed line ${head.Metadata?.['ergon-line'] ?? '?'}: ${head.Metadata?.['ergon-error'] ?? '?'}`,
  );
}
for (const key of keys)
  await inbox.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
await inbox.close();
