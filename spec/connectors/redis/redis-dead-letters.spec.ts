import type { Redis } from 'ioredis';
import { redriveOfKey } from '../../../lib/index.js';
import {
  RedisConnector,
  type RedisTransactionMetadata,
} from '../../../lib/connectors/redis/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';
import { adminClient } from './fixtures/redis-spec-support.js';

describe('RedisConnector dead letters (real Redis)', function () {
  this.timeout(20_000);
  const streams: string[] = [];
  const connectors: RedisConnector[] = [];
  let admin: Redis;

  before(async function () {
    await requireService(this, 'redis');
    admin = adminClient();
  });

  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((connector) => connector.close()));
  });

  after(async () => {
    for (const stream of streams) await admin.del(stream, `${stream}:dead`);
    admin.disconnect();
  });

  const metadataOf = (tx: { metadata: unknown }): RedisTransactionMetadata =>
    tx.metadata as RedisTransactionMetadata;

  deadLetterContract(
    () => {
      const stream = uniqueName('ergon-dlq');
      streams.push(stream);
      const first = new RedisConnector({ stream, fetchWait: 50 });
      const second = new RedisConnector({ stream, fetchWait: 50 });
      connectors.push(first, second);
      return Promise.resolve({ first, second });
    },
    {
      deliveryCountOf: (tx) => metadataOf(tx).deliveries,
      redriveOf: (tx) => metadataOf(tx).headers[redriveOfKey],
    },
  );
});
