import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  createTransaction,
  partitionedConnector,
  partitionOf,
  type Connector,
  type Transaction,
} from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

type Payload = { readonly n: number };

function fetchOnce<P>(connector: Connector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

describe('partitionedConnector over RabbitMQ queues (real RabbitMQ)', function () {
  this.timeout(20_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const connectors: RabbitmqConnector<Payload>[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    for (const connector of connectors) await connector.close();
    for (const queue of queues) await probe?.deleteTopology(queue);
    await probe?.close();
  });

  function partition(queue: string, name: string): RabbitmqConnector<Payload> {
    const connector = new RabbitmqConnector<Payload>({
      connection: { url: brokerUrl, connectionName: name },
      queue,
      singleActiveConsumer: true,
      fetchWait: 300,
    });
    connectors.push(connector);
    return connector;
  }

  it('routes by key to the partition queues; a consumer of some partitions fetches only theirs, with metadata.key', async () => {
    const base = uniqueName('ergon_rmq_parts');
    const names = [0, 1, 2].map((p) => `${base}.p${p}`);
    queues.push(...names);
    const producer = partitionedConnector({
      partitions: names.map((queue) => partition(queue, 'ergon partition spec producer')),
      consume: [],
    });
    const batch = Array.from({ length: 60 }, (_, n) =>
      createTransaction({ n }, { metadata: { key: `key-${n % 12}` } }),
    );
    expect((await producer.dispatch(batch)).failed).to.deep.equal([]);
    for (const [p, queue] of names.entries()) {
      const expected = batch.filter((tx) => partitionOf(String(tx.metadata['key']), 3) === p);
      expect(await probe.settledCount(queue, expected.length)).to.equal(expected.length);
    }

    const consumer = partitionedConnector({
      partitions: names.map((queue) => partition(queue, 'ergon partition spec consumer')),
      consume: [1],
    });
    const fetched: Transaction<Payload>[] = [];
    for (let round = 0; round < 10 && fetched.length < 60; round++) {
      const got = await fetchOnce(consumer, 60);
      if (got.length === 0) break;
      fetched.push(...got);
    }
    for (const tx of fetched) await consumer.settle(tx, { type: 'ack' });
    const expected = batch.filter((tx) => consumer.partitionFor(tx) === 1);
    expect(fetched.map((tx) => tx.id)).to.deep.equal(expected.map((tx) => tx.id));
    for (const tx of fetched) expect(partitionOf(String(tx.metadata['key']), 3)).to.equal(1);
  });

  it('singleActiveConsumer: a second consumer of one partition gets nothing until the first lets go', async () => {
    const queue = uniqueName('ergon_rmq_sac');
    queues.push(queue);
    const first = partition(queue, 'ergon sac spec first');
    const second = partition(queue, 'ergon sac spec second');
    const batch = Array.from({ length: 10 }, (_, n) => createTransaction({ n }));
    expect((await first.dispatch(batch)).failed).to.deep.equal([]);

    const taken = await fetchOnce(first, 4);
    expect(taken.map((tx) => tx.payload.n)).to.deep.equal([0, 1, 2, 3]);
    // The second consumer is registered, but the broker delivers to the active one only.
    expect(await fetchOnce(second, 10)).to.deep.equal([]);
    expect(await fetchOnce(second, 10)).to.deep.equal([]);

    await first.close(); // unsettled deliveries go back to the queue, in order
    const rest: Transaction<Payload>[] = [];
    for (let round = 0; round < 10 && rest.length < 10; round++) {
      rest.push(...(await fetchOnce(second, 10)));
    }
    expect(rest.map((tx) => tx.payload.n)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const tx of rest) await second.settle(tx, { type: 'ack' });
  });
});
