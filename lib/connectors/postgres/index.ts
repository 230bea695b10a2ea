export { isTransientPostgresError } from './transient-postgres-error.js';
export {
  postgresConnectionConfig,
  PostgresConnectionConfigCodec,
  type PostgresConnectionConfig,
  type PostgresConnectionConfigInput,
} from './postgres-connection-config.js';
export {
  postgresConnectorConfig,
  PostgresConnectorConfigCodec,
  type PayloadColumnType,
  type PostgresConnectorConfig,
  type PostgresConnectorConfigInput,
} from './postgres-connector-config.js';
export { PostgresConnector, type PostgresConnectorOptions } from './postgres-connector.js';
export { PostgresQueueError } from './postgres-queue-error.js';
export { PostgresService, type RetryLimit } from './postgres-service.js';
export type { QueueMetadata } from './queue-row.js';
