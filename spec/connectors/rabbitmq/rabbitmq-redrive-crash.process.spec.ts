import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction, redriveOfKey } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

// docs/dead-letters.md, "RabbitMQ: redrive across a crash": a redrive process killed part-way
// loses no dead letter; the next redrive sends what is left, and a dead letter whose copy the
// broker had confirmed before its ack arrived is sent twice — both copies with the same
// transaction id and the same `ergon-redrive-of`, by which a consumer can tell them apart.

const worker = fileURLToPath(new URL('./fixtures/redrive-worker.ts', import.meta.url));

const count = 60;

describe('RabbitmqConnector redrive across a crash (real RabbitMQ, SIGKILL)', function () {
  this.timeout(60_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const children: ChildProcess[] = [];
  const connectors: RabbitmqConnector[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(connectors.map((connector) => connector.close()));
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    await probe.close();
  });

  it('a redrive killed part-way loses nothing; the next one sends the rest, a dead letter in flight at the kill at most twice, recognisably', async () => {
    const queue = uniqueName('ergon_rabbitmq_redrive');
    queues.push(queue);
    const connector = new RabbitmqConnector({
      connection: { url: brokerUrl },
      queue,
      fetchWait: 100,
    });
    connectors.push(connector);
    const ids = Array.from({ length: count }, (_, n) => `dead-${n}`);
    const report = await connector.dispatch(ids.map((id, n) => createTransaction({ n }, { id })));
    expect(report.failed).to.deep.equal([]);
    await lastValueFrom(
      consume(
        connector,
        consumerTask({
          process: () => {
            throw new Error('refused');
          },
        }),
        { loop: { concurrency: { value: 32 }, limit: count } },
      ).pipe(toArray()),
    );
    // Closed: the messages its consumer had fetched ahead go back to the queue.
    await connector.close();
    expect(await probe.settledCount(`${queue}.dlq`, count)).to.equal(count);

    // The redrive process, killed once some copies are back in the queue.
    const child = spawn(process.execPath, ['--import', 'tsx', worker, queue], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (;;) {
      if (((await probe.messageCount(queue)) ?? 0) >= 10) break;
      if (child.exitCode !== null) throw new Error(`the redrive process ended early: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill('SIGKILL');
    await exited;
    expect(output).to.not.contain('done');
    // What the killed redrive held goes back to the dead-letter queue.
    const left = (await probe.countWhenQuiet(`${queue}.dlq`, 500)) ?? 0;
    // At least 10 copies were in the queue at the kill, but the one whose ack had not reached the
    // broker is back in the dead-letter queue too: so part-way means some moved, some left.
    expect(left, 'killed part-way').to.be.within(1, count - 1);

    const redriver = new RabbitmqConnector({ connection: { url: brokerUrl }, queue });
    connectors.push(redriver);
    const again = await redriver.deadLetters().redrive();
    await redriver.close();
    expect(again.redriven).to.have.length(left);
    expect(await probe.countWhenQuiet(`${queue}.dlq`)).to.equal(0);

    const delivered = await probe.drain(queue);
    const copies = new Map<string, string[]>();
    for (const message of delivered) {
      const id = String(message.properties.messageId);
      const marker = String(message.properties.headers?.[redriveOfKey]);
      copies.set(id, [...(copies.get(id) ?? []), marker]);
    }
    // Not one lost…
    expect([...copies.keys()].sort()).to.deep.equal([...ids].sort());
    // …and the few sent twice (the copies confirmed, their acks not yet at the broker) carry
    // one marker between them: the dead letter they both came from.
    const twice = [...copies].filter(([, markers]) => markers.length > 1);
    // The kill lands while the redrive waits for a confirm (nearly all of its time): that
    // message's copy is in the queue, its dead letter not acked. (Nearly: a kill between an ack
    // and the next publish leaves no copy twice, so none is asked for.)
    expect(delivered.length - count)
      .to.equal(twice.length)
      .and.to.be.within(0, 3);
    for (const [id, markers] of twice) {
      expect(markers, id).to.have.length(2);
      expect(markers[0], id).to.equal(markers[1]);
      expect(markers[0], id).to.match(new RegExp(`^${queue}\\.dlq#${id}@`));
    }
  });
});
