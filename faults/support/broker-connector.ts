import type { Connector, DispatchReport, Transaction } from '../../lib/index.js';
import { KafkaConnector } from '../../lib/connectors/kafka/index.js';
import { NatsConnector } from '../../lib/connectors/nats/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { RedisConnector } from '../../lib/connectors/redis/index.js';
import { S3Connector } from '../../lib/connectors/s3/index.js';
import { SqsConnector } from '../../lib/connectors/sqs/index.js';
import { S3_TARGET_PREFIX } from '../brokers/s3-target.js';
import type { BrokerEndpoint } from './broker-endpoint.js';

/** A broker connector that consumes, dispatches (confirmed) and closes. */
export interface BrokerConnector extends Connector {
  dispatch(transactions: readonly Transaction[]): Promise<DispatchReport>;
  close(): Promise<void>;
}

/**
 * Opens the connector `endpoint` describes, its topology declared (queue, stream, consumer or
 * tables), so messages published right after are routed. `workerId` names the Redis consumer
 * (`w<id>`): a restarted worker takes back its own pending entries at once. JetStream acks
 * wait for the server's confirmation (`ackConfirm`): a fire-and-forget ack lost with a cut
 * connection would count as settled by the worker and then settled again after redelivery,
 * and the suite could not tell that from a real double settlement.
 */
export async function openBrokerConnector(
  endpoint: BrokerEndpoint,
  workerId: number,
): Promise<BrokerConnector> {
  const { url, destination, clientName, maxDeliveries, leaseMs, consumerTimeout } = endpoint;
  switch (endpoint.broker) {
    case 'rabbitmq': {
      const connector = new RabbitmqConnector({
        connection: {
          url,
          connectionName: clientName,
          reconnect: { backoff: 50, backoffCap: 500 },
        },
        queue: destination,
        maxDeliveries,
        fetchWait: 200,
        ...(consumerTimeout === undefined ? {} : { consumerTimeout }),
      });
      await connector.declare();
      return connector;
    }
    case 'postgres': {
      const connector = new PostgresConnector({
        connection: {
          url,
          applicationName: clientName,
          poolSize: 4,
          reconnect: { backoff: 50, backoffCap: 500 },
        },
        table: destination,
        payloadType: 'bytea',
        maxDeliveries,
        lease: leaseMs,
        fetchWait: 200,
      });
      await connector.migrate();
      return connector;
    }
    case 'redis':
      return new RedisConnector({
        connection: { url, name: clientName, reconnect: { backoff: 50, backoffCap: 500 } },
        stream: destination,
        consumer: `w${workerId}`,
        maxDeliveries,
        claimIdle: leaseMs,
        fetchWait: 200,
      });
    case 'nats': {
      const connector = new NatsConnector({
        url,
        name: clientName,
        stream: destination,
        maxDeliveries,
        ackWait: leaseMs,
        ackConfirm: true,
        fetchWait: 200,
        reconnect: { backoff: 50, backoffCap: 500 },
      });
      await connector.declare();
      return connector;
    }
    case 'sqs': {
      const connector = new SqsConnector({
        connection: {
          endpoint: url,
          credentials: { accessKeyId: 'ergon', secretAccessKey: 'ergon' },
          reconnect: { backoff: 50, backoffCap: 500 },
        },
        queue: destination,
        maxReceiveCount: maxDeliveries,
        visibilityTimeout: Math.max(1000, Math.round(leaseMs / 1000) * 1000),
        fetchWait: '1s',
      });
      await connector.declare();
      return connector;
    }
    case 'kafka': {
      // Kafka keeps no delivery count across consumers: `maxDeliveries` has no equivalent.
      const connector = new KafkaConnector({
        brokers: [url],
        clientId: clientName,
        topic: destination,
        partitions: 4,
        fetchWait: 200,
        sessionTimeout: leaseMs,
        heartbeatInterval: Math.min(1000, leaseMs / 3),
        reconnect: { backoff: 50, backoffCap: 500 },
      });
      await connector.declare();
      return connector;
    }
    case 's3':
      // S3 counts no deliveries: `maxDeliveries` has no equivalent. The bucket exists (S3Target).
      return new S3Connector({
        connection: {
          endpoint: url,
          credentials: { accessKeyId: 'ergon', secretAccessKey: 'ergon' },
          reconnect: { backoff: 50, backoffCap: 500 },
        },
        bucket: destination,
        prefix: S3_TARGET_PREFIX,
        claimTtl: leaseMs,
      });
  }
}
