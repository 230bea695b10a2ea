import type { Connector } from '../../../lib/index.js';
import { FileConnector } from '../../../lib/connectors/file/file-connector.js';
import { NatsConnector } from '../../../lib/connectors/nats/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { RedisConnector } from '../../../lib/connectors/redis/index.js';
import { SqsConnector } from '../../../lib/connectors/sqs/index.js';
import { sqsConnection } from '../../../spec/connectors/sqs/fixtures/sqs-spec-support.js';

/** The connectors of the durable-delay fault spec. */
export type DurableDelayKind = 'postgres' | 'redis' | 'nats' | 'rabbitmq' | 'sqs' | 'file';

/**
 * A connector on `name` (a table, stream, queue or file path), the same in the spec and in
 * its worker processes.
 */
export async function durableDelayConnector(
  kind: DurableDelayKind,
  name: string,
): Promise<Connector<{ n: number }>> {
  switch (kind) {
    case 'postgres': {
      const connector = new PostgresConnector<{ n: number }>({
        connection: { url: 'postgres://postgres@127.0.0.1:5432/test' },
        table: name,
        fetchWait: 200,
      });
      await connector.migrate();
      return connector;
    }
    case 'redis':
      return new RedisConnector<{ n: number }>({ stream: name, fetchWait: 200 });
    case 'nats': {
      const connector = new NatsConnector<{ n: number }>({ stream: name, fetchWait: 250 });
      await connector.declare();
      return connector;
    }
    case 'rabbitmq': {
      const connector = new RabbitmqConnector<{ n: number }>({
        connection: { url: 'amqp://guest:guest@127.0.0.1:5672/' },
        queue: name,
        fetchWait: 200,
      });
      await connector.declare();
      return connector;
    }
    case 'sqs': {
      const connector = new SqsConnector<{ n: number }>({
        connection: sqsConnection,
        queue: name,
        fetchWait: '1s',
      });
      await connector.declare();
      return connector;
    }
    case 'file':
      return new FileConnector<{ n: number }>({ path: name });
  }
}
