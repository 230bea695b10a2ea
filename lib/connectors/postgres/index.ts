export { isTransientPostgresError, PostgresQueueError, PostgresTableError } from './errors.js';
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
export {
  PostgresConnector,
  type PostgresConnectorOptions,
  type QueueMetadata,
  queueKey,
} from './postgres-connector.js';
export { PostgresDeadLetters } from './postgres-dead-letters.js';
export { PostgresTickStore, type PostgresTickStoreOptions } from './postgres-tick-store.js';
export { PostgresService, type RetryLimit } from './postgres-service.js';
export {
  PostgresRateLimiter,
  PostgresRateLimiterConfigCodec,
  postgresRateLimiterConfig,
  type PostgresRateLimiterConfig,
  type PostgresRateLimiterConfigInput,
} from './postgres-rate-limiter.js';
export {
  PostgresTableConnector,
  type PostgresTableConnectorOptions,
  type TableRowMetadata,
} from './postgres-table-connector.js';
export {
  postgresTableConfig,
  PostgresTableConfigCodec,
  type PostgresTableConfig,
  type PostgresTableConfigInput,
  type TableClaim,
  type TableClaimInput,
  type TableSettlement,
  type TableSettlementInput,
  type TableValue,
} from './postgres-table-config.js';
