import { expect } from 'chai';
import { connect } from 'amqplib';
import { lastValueFrom, toArray } from 'rxjs';
import type { Transaction } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';
import { expectKeyOnlyInMetadata, keyedTransactions } from '../support/key-round-trip.js';

type Payload = { n: number };

/** Fetches until `count` transactions arrived (a fetch returns the first burst only). */
async function fetchCount(
  connector: RabbitmqConnector<Payload>,
  count: number,
): Promise<Transaction<Payload>[]> {
  const fetched: Transaction<Payload>[] = [];
  for (let round = 0; fetched.length < count && round < 20; round++) {
    const size = count - fetched.length;
    fetched.push(...(await lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()))));
  }
  for (const transaction of fetched) await connector.settle(transaction, { type: 'ack' });
  return fetched;
}

describe('RabbitmqConnector — metadata.key travels as the x-ergon-key header (real RabbitMQ)', function () {
  this.timeout(20_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const connectors: RabbitmqConnector<Payload>[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    for (const queue of queues) await probe?.deleteTopology(queue);
    await probe?.close();
  });

  function connectorFor(): RabbitmqConnector<Payload> {
    const queue = uniqueName('ergon_rmq_key');
    queues.push(queue);
    const connector = new RabbitmqConnector<Payload>({
      connection: { url: brokerUrl, connectionName: 'ergon key spec' },
      queue,
      fetchWait: 500,
    });
    connectors.push(connector);
    return connector;
  }

  it('dispatch with a key: fetch shows it as metadata.key, not in metadata.headers; without a key: no key', async () => {
    const connector = connectorFor();
    const sent = keyedTransactions();
    const { keyed, keyless, emptyKey } = sent;
    expect((await connector.dispatch([keyed, keyless, emptyKey])).failed).to.deep.equal([]);
    expectKeyOnlyInMetadata(sent, await fetchCount(connector, 3), 'x-ergon-key', (tx) =>
      Object.keys(tx.metadata['headers'] as Record<string, unknown>),
    );
  });

  it("a user header named 'key' stays a header and is not taken for the ordering key", async () => {
    const connector = connectorFor();
    await connector.declare();
    const model = await connect(brokerUrl);
    try {
      const channel = await model.createConfirmChannel();
      channel.sendToQueue(connector.config.queue ?? '', Buffer.from('{"n":4}'), {
        messageId: 'raw-1',
        headers: { key: 'mine', 'x-ergon-key': 'theirs' },
      });
      channel.sendToQueue(connector.config.queue ?? '', Buffer.from('{"n":5}'), {
        messageId: 'raw-2',
        headers: { key: 'only-mine' },
      });
      await channel.waitForConfirms();
    } finally {
      await model.close();
    }
    const [withBoth, userOnly] = await fetchCount(connector, 2);
    expect(withBoth?.metadata['key']).to.equal('theirs');
    expect(withBoth?.metadata['headers']).to.deep.equal({ key: 'mine' });
    expect(userOnly?.metadata).to.not.have.property('key');
    expect(userOnly?.metadata['headers']).to.deep.equal({ key: 'only-mine' });
  });
});
