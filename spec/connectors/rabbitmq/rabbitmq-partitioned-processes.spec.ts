import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createTransaction,
  partitionedConnector,
  workerPartitions,
  type Transaction,
} from '../../../lib/index.js';
import { RabbitmqConnector, RabbitmqService } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { workerSuite, type WorkerProcess } from '../../support/worker-process.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

const workerScript = fileURLToPath(new URL('./fixtures/partition-worker.ts', import.meta.url));

interface Step {
  readonly key: string;
  readonly seq: number;
}

interface WorkerEvent {
  readonly event: 'start' | 'fail' | 'end';
  readonly key: string;
  readonly seq: number;
  readonly id: string;
}

function eventsIn(file: string): WorkerEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, key, seq, id] = line.split(' ');
      return {
        event: event as WorkerEvent['event'],
        key: key ?? '',
        seq: Number(seq),
        id: id ?? '',
      };
    });
}

/**
 * The must-show case of order per key across processes: 4 RabbitMQ partition queues (with
 * single-active-consumer), 2 worker processes (worker 1 consumes partitions 0 and 2, worker 2
 * partitions 1 and 3, by `workerPartitions`), 50 keys × 20 transactions dispatched through
 * `partitionedConnector`. Each worker appends start/fail/end events to a file of its own,
 * synchronously, so its line order is its real order of events; a key lives in one partition
 * and so in one worker, which the spec checks too, so per-key order needs no clock shared
 * between processes.
 */
describe('partitionedConnector on RabbitMQ across worker processes', function () {
  this.timeout(30_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const processes = workerSuite('partitioned');

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    await probe.close();
  });

  it('two workers on 4 partitions: every transaction processed once, and per key in dispatch order (retries included)', async () => {
    const base = uniqueName('ergon_rmq_part');
    const partitionCount = 4;
    const workers = 2;
    for (let p = 0; p < partitionCount; p++) queues.push(`${base}.p${p}`);

    // Dispatch first: 50 keys × 20 steps, interleaved across keys, in batches of 100.
    const service = new RabbitmqService({
      url: brokerUrl,
      connectionName: 'ergon partition producer',
    });
    const partitions = queues.map(
      (queue) => new RabbitmqConnector<Step>({ queue, singleActiveConsumer: true }, { service }),
    );
    const producer = partitionedConnector({ partitions, consume: [] });
    const keys = Array.from({ length: 50 }, (_, k) => `customer-${k}`);
    const sent: Transaction<Step>[] = [];
    for (let seq = 0; seq < 20; seq++) {
      for (const key of keys) sent.push(createTransaction({ key, seq }, { metadata: { key } }));
    }
    for (let start = 0; start < sent.length; start += 100) {
      const report = await producer.dispatch(sent.slice(start, start + 100));
      expect(report.failed).to.deep.equal([]);
    }
    await producer.close();
    await service.close();

    const files: string[] = [];
    const started: WorkerProcess[] = [];
    for (let workerId = 1; workerId <= workers; workerId++) {
      const mine = workerPartitions(partitionCount, { workerId, workers });
      const expected = sent.filter((tx) => mine.includes(producer.partitionFor(tx))).length;
      const file = processes.file(`worker-${workerId}.events`);
      files.push(file);
      const worker = processes.start(workerScript, [
        base,
        String(partitionCount),
        String(workerId),
        String(workers),
        String(expected),
        file,
      ]);
      started.push(worker);
    }
    await Promise.all(started.map((worker) => worker.ready));
    expect(await Promise.all(started.map((worker) => worker.exited))).to.deep.equal([0, 0]);

    const perWorker = files.map(eventsIn);
    // Every transaction ended exactly once, in one worker or the other.
    const ended = perWorker.flat().filter((event) => event.event === 'end');
    expect(ended).to.have.length(sent.length);
    expect(ended.map((event) => event.id).sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
    // Both workers took part; a key is only ever seen by one worker.
    const keysOf = perWorker.map((events) => new Set(events.map((event) => event.key)));
    expect(keysOf.every((set) => set.size > 0)).to.equal(true);
    expect([...(keysOf[0] ?? [])].filter((key) => keysOf[1]?.has(key))).to.deep.equal([]);
    // Some first attempts failed and were retried.
    expect(perWorker.flat().filter((event) => event.event === 'fail').length).to.be.greaterThan(50);

    for (const events of perWorker) {
      const byKey = new Map<string, WorkerEvent[]>();
      for (const event of events) byKey.set(event.key, [...(byKey.get(event.key) ?? []), event]);
      for (const [key, history] of byKey) {
        // Ended in dispatch order.
        const endOrder = history.filter((event) => event.event === 'end').map((event) => event.seq);
        expect(endOrder, `order of ${key}`).to.deep.equal(
          Array.from({ length: 20 }, (_, seq) => seq),
        );
        // Never two of one key at a time: each start follows the previous step's end (a
        // failed attempt is started again before anything newer of its key).
        let open: WorkerEvent | undefined;
        let last = -1;
        for (const event of history) {
          if (event.event === 'start') {
            expect(open, `${key}: step ${event.seq} started while ${open?.seq} ran`).to.equal(
              undefined,
            );
            expect(event.seq, `${key}: step ${event.seq} after ${last}`).to.be.oneOf([
              last,
              last + 1,
            ]);
            open = event;
          } else {
            expect(open?.seq).to.equal(event.seq);
            open = undefined;
            if (event.event === 'end') last = event.seq;
          }
        }
      }
    }
    for (const queue of queues) expect(await probe.countWhenQuiet(queue, 100)).to.equal(0);
  });
});
