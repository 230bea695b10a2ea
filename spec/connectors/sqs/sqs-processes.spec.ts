import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { SqsConnector } from '../../../lib/connectors/sqs/index.js';
import { idsIn, until, workerSuite } from '../../support/worker-process.js';
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
    const firstFile = processes.file('kill-first.ids');
    const first = processes.start(worker, [queue, firstFile, 40, 4]);
    await until(() => idsIn(firstFile).length >= 20, 20_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal(null);
    const before = idsIn(firstFile);
    expect(before.length, 'killed mid-run').to.be.below(100);

    const secondFile = processes.file('kill-second.ids');
    const second = processes.start(worker, [queue, secondFile, 0, 4]);
    expect(await second.exited).to.equal(0);
    const after = idsIn(secondFile);
    expect([...new Set([...before, ...after])].sort()).to.deep.equal([...sent].sort());
    expect(
      before.filter((id) => after.includes(id)).length,
      'the unacked messages of the killed process were redelivered',
    ).to.be.greaterThan(0);
    expect(await messagesIn(admin, queue)).to.equal(0);
    expect(await messagesIn(admin, `${queue}-dlq`)).to.equal(0);
  });
});
