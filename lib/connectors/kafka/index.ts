export { KafkaConnectionError, KafkaDeadLetterError, KafkaTopicError } from './errors.js';
export {
  KafkaConnector,
  type KafkaConnectorOptions,
  type KafkaTransactionMetadata,
} from './kafka-connector.js';
export {
  KafkaConnectorConfigCodec,
  kafkaConnectorConfig,
  type KafkaConnectorConfig,
  type KafkaConnectorConfigInput,
  type KafkaStartFrom,
} from './kafka-connector-config.js';
