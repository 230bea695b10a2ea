import { redriveOfKey } from '../../../lib/index.js';
import { NatsConnector, type NatsTransactionMetadata } from '../../../lib/connectors/nats/index.js';
import { requireService } from '../../support/real-service.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';
import { NatsAdmin } from './fixtures/nats-spec-support.js';

describe('NatsConnector dead letters (real NATS JetStream)', function () {
  this.timeout(30_000);
  const connectors: NatsConnector[] = [];
  let admin: NatsAdmin | undefined;

  before(async function () {
    await requireService(this, 'nats');
    admin = await NatsAdmin.open();
  });

  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((connector) => connector.close()));
  });

  after(async () => {
    await admin?.close();
  });

  const metadataOf = (tx: { metadata: unknown }): NatsTransactionMetadata =>
    tx.metadata as NatsTransactionMetadata;

  deadLetterContract(
    () => {
      const stream = (admin as NatsAdmin).streamName();
      const first = new NatsConnector({ stream, fetchWait: 100 });
      const second = new NatsConnector({ stream, fetchWait: 100 });
      connectors.push(first, second);
      return Promise.resolve({ first, second });
    },
    {
      deliveryCountOf: (tx) => metadataOf(tx).deliveryCount,
      redriveOf: (tx) => metadataOf(tx).headers[redriveOfKey],
    },
  );
});
