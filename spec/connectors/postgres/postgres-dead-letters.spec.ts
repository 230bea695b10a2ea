import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import type { QueueMetadata } from '../../../lib/connectors/postgres/index.js';
import { redriveOfKey } from '../../../lib/index.js';
import { uniqueName } from '../../support/real-service.js';
import { postgresSuite } from './fixtures/postgres-suite.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';
import { testUrl } from './fixtures/queue-fixture.js';

describe('PostgresConnector dead letters (real PostgreSQL)', function () {
  this.timeout(20_000);
  const { tables, connectors } = postgresSuite();

  deadLetterContract(
    async () => {
      const table = uniqueName('ergon_dlq');
      tables.push(table);
      const make = (): PostgresConnector =>
        new PostgresConnector({ connection: { url: testUrl }, table, fetchWait: 50 });
      const first = make();
      const second = make();
      connectors.push(first, second);
      await first.migrate();
      return { first, second };
    },
    {
      deliveryCountOf: (tx) => (tx.metadata as QueueMetadata).deliveryCount,
      redriveOf: (tx) => (tx.metadata as QueueMetadata).headers[redriveOfKey],
    },
  );
});
