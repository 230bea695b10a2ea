export { AckBatcher } from './ack-batcher.js';
export { defaultConsumerName } from './consumer-name.js';
export {
  bodyField,
  entryFields,
  entryTransaction,
  entryTransactionId,
  idField,
  type EntrySource,
  type RedisFields,
  type RedisTransactionMetadata,
} from './entry-format.js';
export { RedisConnector } from './redis-connector.js';
export {
  RedisConnectorConfigCodec,
  redisConnectorConfig,
  type RedisConnectorConfig,
  type RedisConnectorConfigInput,
} from './redis-connector-config.js';
export { RedisService } from './redis-service.js';
export {
  RedisServiceConfigCodec,
  redisServiceConfig,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';
export { deadLetterFields } from './stream-scripts.js';
export { StreamEntryTrimmedError, UnexpectedReplyError, type StreamEntry } from './stream-entry.js';
