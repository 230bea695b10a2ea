import { redriveOfKey } from '../../../lib/index.js';
import type { NatsTransactionMetadata } from '../../../lib/connectors/nats/index.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';
import { natsSuite } from './fixtures/nats-suite.js';

describe('NatsConnector dead letters (real NATS JetStream)', function () {
  this.timeout(30_000);
  const suite = natsSuite(100);

  const metadataOf = (tx: { metadata: unknown }): NatsTransactionMetadata =>
    tx.metadata as NatsTransactionMetadata;

  deadLetterContract(
    () => {
      const stream = suite.admin.streamName();
      const first = suite.connector({ stream });
      const second = suite.connector({ stream });
      return Promise.resolve({ first, second });
    },
    {
      deliveryCountOf: (tx) => metadataOf(tx).deliveryCount,
      redriveOf: (tx) => metadataOf(tx).headers[redriveOfKey],
    },
  );
});
