import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { createTransaction } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { idsIn, workerSuite } from '../../support/worker-process.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

const worker = fileURLToPath(new URL('./fixtures/consume-worker.ts', import.meta.url));

describe('RabbitmqConnector across processes', function () {
  this.timeout(30_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const processes = workerSuite('rabbitmq');

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    await probe.close();
  });

  async function publish(queue: string, count: number): Promise<string[]> {
    const producer = new RabbitmqConnector({ connection: { url: brokerUrl }, queue });
    const sent = Array.from({ length: count }, (_, n) => createTransaction({ n }));
    const report = await producer.dispatch(sent);
    await producer.close();
    expect(report.failed).to.deep.equal([]);
    return sent.map((tx) => tx.id);
  }

  it('two consumer processes share one queue: no transaction processed by both, none missed', async () => {
    const queue = uniqueName('ergon_rabbitmq_share');
    queues.push(queue);
    const files = [processes.file('share-a.ids'), processes.file('share-b.ids')];
    const workers = files.map((file) => processes.start(worker, [queue, file, 5, 4]));
    await Promise.all(workers.map((w) => w.ready));
    const sent = await publish(queue, 400);

    expect(await Promise.all(workers.map((w) => w.exited))).to.deep.equal([0, 0]);
    const [a, b] = files.map(idsIn) as [string[], string[]];
    expect(a.length, 'worker A took part').to.be.greaterThan(0);
    expect(b.length, 'worker B took part').to.be.greaterThan(0);
    expect(
      a.filter((id) => b.includes(id)),
      'processed by both',
    ).to.deep.equal([]);
    expect(new Set(a).size + new Set(b).size).to.equal(a.length + b.length);
    expect([...a, ...b].sort()).to.deep.equal([...sent].sort());
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('a consumer killed with SIGKILL mid-batch loses nothing: after a restart every message is processed', async () => {
    const queue = uniqueName('ergon_rabbitmq_kill');
    queues.push(queue);
    const sent = await publish(queue, 100);
    const before = await processes.killedMidRun(
      worker,
      'kill-first.ids',
      (file) => [queue, file, 40, 4],
      20,
      15_000,
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
      'the unacked batch of the killed process was redelivered',
    ).to.be.greaterThan(0);
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
    expect(await probe.messageCount(`${queue}.dlq`)).to.equal(0);
  });
});
