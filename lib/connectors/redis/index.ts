export { StreamEntryTrimmedError, UnexpectedReplyError } from './errors.js';
export { RedisConnector, type RedisTransactionMetadata } from './redis-connector.js';
export {
  RedisConnectorConfigCodec,
  redisConnectorConfig,
  type RedisConnectorConfig,
  type RedisConnectorConfigInput,
} from './redis-connector-config.js';
export { RedisDeadLetters } from './redis-dead-letters.js';
export { RedisService } from './redis-service.js';
export { RedisTickStore, type RedisTickStoreOptions } from './redis-tick-store.js';
export {
  RedisServiceConfigCodec,
  redisServiceConfig,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';
export { RedisRateLimiter } from './redis-rate-limiter.js';
export {
  RedisRateLimiterConfigCodec,
  redisRateLimiterConfig,
  type RedisRateLimiterConfig,
  type RedisRateLimiterConfigInput,
} from './redis-rate-limiter-config.js';
