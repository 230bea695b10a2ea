import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import type { Transaction } from '../../../lib/index.js';
import type {
  RedisConnector,
  RedisTransactionMetadata,
} from '../../../lib/connectors/redis/index.js';
import { uniqueName } from '../../support/real-service.js';
import { expectKeyOnlyInMetadata, keyedTransactions } from '../support/key-round-trip.js';
import { redisSuite } from './fixtures/redis-suite.js';

type Payload = { n: number };

describe('RedisConnector — metadata.key travels as the ergon-key field (real Redis)', function () {
  this.timeout(20_000);
  const suite = redisSuite(100);

  function connectorFor(): RedisConnector<Payload> {
    return suite.connector<Payload>(uniqueName('ergon_redis_key'));
  }

  async function fetchAll(connector: RedisConnector<Payload>): Promise<Transaction<Payload>[]> {
    const fetched = await lastValueFrom(connector.fetch({ size: 10, extra: {} }).pipe(toArray()));
    for (const transaction of fetched) await connector.settle(transaction, { type: 'ack' });
    return fetched;
  }

  it('dispatch with a key: fetch shows it as metadata.key, not in metadata.headers; without a key: no key', async () => {
    const connector = connectorFor();
    const sent = keyedTransactions();
    const { keyed, keyless, emptyKey } = sent;
    expect((await connector.dispatch([keyed, keyless, emptyKey])).failed).to.deep.equal([]);
    expectKeyOnlyInMetadata(sent, await fetchAll(connector), 'ergon-key', (tx) =>
      Object.keys((tx.metadata as unknown as RedisTransactionMetadata).headers),
    );
  });

  it("a field named 'key' stays a header and is not taken for the ordering key", async () => {
    const connector = connectorFor();
    await fetchAll(connector); // creates the group before the entries are added
    const stream = connector.config.stream;
    await suite.admin.xadd(
      stream,
      '*',
      'id',
      'raw-1',
      'body',
      '{"n":4}',
      'key',
      'mine',
      'ergon-key',
      'theirs',
    );
    await suite.admin.xadd(stream, '*', 'id', 'raw-2', 'body', '{"n":5}', 'key', 'only-mine');
    const [withBoth, userOnly] = await fetchAll(connector);
    expect(withBoth?.metadata['key']).to.equal('theirs');
    expect(withBoth?.metadata['headers']).to.deep.equal({ key: 'mine' });
    expect(userOnly?.metadata).to.not.have.property('key');
    expect(userOnly?.metadata['headers']).to.deep.equal({ key: 'only-mine' });
  });
});
