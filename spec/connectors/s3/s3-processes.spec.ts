import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { idsIn, workerSuite } from '../../support/worker-process.js';
import { requireService } from '../../support/real-service.js';
import {
  adminClient,
  bucketName,
  createBucket,
  emptyBucket,
  keysOf,
  put,
} from './fixtures/s3-spec-support.js';

const worker = fileURLToPath(new URL('./fixtures/consume-worker.ts', import.meta.url));

describe('S3Connector across processes (real S3Mock)', function () {
  this.timeout(60_000);
  let admin: S3Client;
  const buckets: string[] = [];
  const processes = workerSuite('s3');

  before(async function () {
    await requireService(this, 's3');
    admin = adminClient();
  });

  after(async () => {
    if (admin === undefined) return;
    for (const bucket of buckets) await emptyBucket(admin, bucket);
    admin.destroy();
  });

  it('a consumer killed with SIGKILL mid-object loses nothing: its claims lapse and the lines are processed', async () => {
    const bucket = bucketName('ergon-s3-kill');
    await createBucket(admin, bucket);
    buckets.push(bucket);
    const sent: string[] = [];
    for (const file of ['a', 'b']) {
      const lines = Array.from({ length: 40 }, (_, n) => JSON.stringify({ file, n }));
      await put(admin, bucket, `in/${file}.jsonl`, `${lines.join('\n')}\n`);
      sent.push(...lines.map((_, n) => `in/${file}.jsonl#${n + 1}`));
    }
    const before = await processes.killedMidRun(
      worker,
      'kill-first.ids',
      (file) => [bucket, file, 30],
      20,
      20_000,
    );
    expect(before.length, 'killed mid-run').to.be.below(80);
    expect(
      await keysOf(admin, bucket, 'claims/'),
      'the dead worker left its claims',
    ).to.not.deep.equal([]);

    const secondFile = processes.file('kill-second.ids');
    const second = processes.start(worker, [bucket, secondFile, 0]);
    // The second worker may find the dead one's claims not lapsed yet: run it until it is all done.
    expect(await second.exited).to.equal(0);
    let after = idsIn(secondFile);
    for (let run = 0; run < 5 && new Set([...before, ...after]).size < sent.length; run++) {
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const again = processes.start(worker, [bucket, secondFile, 0]);
      expect(await again.exited).to.equal(0);
      after = idsIn(secondFile);
    }
    expect([...new Set([...before, ...after])].sort()).to.deep.equal([...sent].sort());
    // Where the second resumed depends on the dead one's last renewal (a cursor at most
    // claimTtl / 3 old); the cursor itself: s3-connector.spec.ts, "a restart resumes".
    expect(new Set(after).size, 'no line twice after the kill').to.equal(after.length);
    expect(await keysOf(admin, bucket)).to.deep.equal(['done/a.jsonl', 'done/b.jsonl']);
  });
});
