import { expect } from 'chai';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Transaction } from '../../../lib/index.js';
import type { NatsConnector, NatsTransactionMetadata } from '../../../lib/connectors/nats/index.js';
import { fetchAll } from './fixtures/nats-spec-support.js';
import { natsSuite } from './fixtures/nats-suite.js';
import { expectKeyOnlyInMetadata, keyedTransactions } from '../support/key-round-trip.js';

type Payload = { n: number };

describe('NatsConnector — metadata.key travels as the Ergon-Key header (real NATS JetStream)', function () {
  this.timeout(20_000);
  const suite = natsSuite(250);

  function connectorFor(): NatsConnector<Payload> {
    return suite.connector<Payload>({ stream: suite.admin.streamName() });
  }

  async function fetchAcked(connector: NatsConnector<Payload>): Promise<Transaction<Payload>[]> {
    const fetched = await fetchAll(connector, 10);
    for (const transaction of fetched) await connector.settle(transaction, { type: 'ack' });
    return fetched;
  }

  it('dispatch with a key: fetch shows it as metadata.key, not in metadata.headers; without a key: no key', async () => {
    const connector = connectorFor();
    const sent = keyedTransactions();
    const { keyed, keyless, emptyKey } = sent;
    expect((await connector.dispatch([keyed, keyless, emptyKey])).failed).to.deep.equal([]);
    expectKeyOnlyInMetadata(sent, await fetchAcked(connector), 'ergon-key', (tx) =>
      Object.keys((tx.metadata as unknown as NatsTransactionMetadata).headers).map((name) =>
        name.toLowerCase(),
      ),
    );
  });

  it("a header named 'Key' stays a header and is not taken for the ordering key", async () => {
    const connector = connectorFor();
    await fetchAcked(connector); // declares the stream and the consumer
    const js = jetstream(suite.admin.connection);
    const subject = connector.config.subject ?? connector.config.stream;
    const both = headers();
    both.set('Key', 'mine');
    both.set('ergon-key', 'theirs');
    await js.publish(subject, '{"n":4}', { msgID: 'raw-1', headers: both });
    const userOnly = headers();
    userOnly.set('Key', 'only-mine');
    await js.publish(subject, '{"n":5}', { msgID: 'raw-2', headers: userOnly });
    const [withBoth, withUserOnly] = await fetchAcked(connector);
    expect(withBoth?.metadata['key']).to.equal('theirs');
    expect(withBoth?.metadata['headers']).to.deep.equal({ 'Nats-Msg-Id': 'raw-1', Key: 'mine' });
    expect(withUserOnly?.metadata).to.not.have.property('key');
    expect(withUserOnly?.metadata['headers']).to.deep.equal({
      'Nats-Msg-Id': 'raw-2',
      Key: 'only-mine',
    });
  });
});
