export {
  NatsConnector,
  type NatsConnectorOptions,
  type NatsTransactionMetadata,
} from './nats-connector.js';
export {
  NatsConnectorConfigCodec,
  natsConnectorConfig,
  NatsServiceConfigCodec,
  natsServiceConfig,
  type NatsConnectorConfig,
  type NatsConnectorConfigInput,
  type NatsRetention,
  type NatsServiceConfig,
  type NatsServiceConfigInput,
  type NatsStorage,
} from './nats-connector-config.js';
export { NatsDeadLetters } from './nats-dead-letters.js';
export { NatsService, type NatsConnectionState } from './nats-service.js';
export {
  NatsConnectionError,
  NatsDeadLetterError,
  NatsPullError,
  NatsTopologyError,
} from './errors.js';
