import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { SqsConnector } from '../../../lib/connectors/sqs/index.js';
import { idsIn, workerSuite } from '../../support/worker-process.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  adminClient,
  deleteQueues,
  messagesIn,
  numbered,
  sqsConnection,
} from './fixtures/sqs-spec-support.js';

const worker = fileURLToPath(new URL('./fixtures/consume-worker.ts', import.meta.url));

describe('SqsConnector across processes (real ElasticMQ)', function () {
  this.timeout(60_000);
  let admin: SQSClient;
  const queues: string[] = [];
  const processes = workerSuite('sqs');

  before(async function () {
    await requireService(this, 'elasticmq');
    admin = adminClient();
  });

  after(async () => {
    if (admin === undefined) return;
    await deleteQueues(admin, queues);
    admin.destroy();
  });

  async function publish(queue: string, count: number): Promise<string[]> {
    queues.push(queue, `${queue}-dlq`);
    const producer = new SqsConnector({ connection: sqsConnection, queue });
    const sent = numbered(queue, count);
    const report = await producer.dispatch(sent);
    await producer.close();
    expect(report.failed).to.deep.equal([]);
    return sent.map((tx) => tx.id);
  }

  it('two consumer processes share one queue: no transaction processed by both, none missed', async () => {
    const queue = uniqueName('ergon_sqs_share');
    const sent = await publish(queue, 200);
    const files = [processes.file('share-a.ids'), processes.file('share-b.ids')];
    const workers = files.map((file) => processes.start(worker, [queue, file, 5, 4]));
    expect(await Promise.all(workers.map((w) => w.exited))).to.deep.equal([0, 0]);
    const [a, b] = files.map(idsIn) as [string[], string[]];
    expect(a.length, 'worker A took part').to.be.greaterThan(0);
    expect(b.length, 'worker B took part').to.be.greaterThan(0);
    expect(
      a.filter((id) => b.includes(id)),
      'processed by both',
    ).to.deep.equal([]);
    expect([...a, ...b].sort()).to.deep.equal([...sent].sort());
    expect(await messagesIn(admin, queue)).to.equal(0);
  });

  it('a consumer killed with SIGKILL mid-batch loses nothing: after a restart every message is processed', async () => {
    const queue = uniqueName('ergon_sqs_kill');
    const sent = await publish(queue, 100);
    const before = await processes.killedMidRun(
      worker,
      'kill-first.ids',
      (file) => [queue, file, 40, 4],
      20,
      20_000,
    );
    expect(before.length, 'killed mid-run').to.be.below(100);

    const after = await processes.ranToEnd(worker, 'kill-second.ids', (file) => [
      queue,
      file,
      0,
      4,
    ]);
    expect([...new Set([...before, ...after])].sort()).to.deep.equal([...sent].sort());
    expect(
      before.filter((id) => after.includes(id)).length,
      'the unacked messages of the killed process were redelivered',
    ).to.be.greaterThan(0);
    expect(await messagesIn(admin, queue)).to.equal(0);
    expect(await messagesIn(admin, `${queue}-dlq`)).to.equal(0);
  });
});
