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
export { NatsService, type NatsConnectionState } from './nats-service.js';
export type { ConsumerDeclaration, StreamDeclaration } from './jetstream-topology.js';
export { NatsConnectionError } from './nats-connection-error.js';
export { NatsDeadLetterError } from './nats-dead-letter-error.js';
export { NatsPullError } from './nats-pull-error.js';
export { NatsTopologyError } from './nats-topology-error.js';
