export { AmqpUrl, redactAmqpUrl } from './amqp-url.js';
export {
  MaxDeliveriesExceededError,
  RabbitmqConnectionError,
  RabbitmqDeadLetterError,
  RabbitmqPublishError,
  RabbitmqTopologyError,
  type RabbitmqPublishFailure,
} from './errors.js';
export {
  RabbitmqConnectionConfigCodec,
  rabbitmqConnectionConfig,
  type RabbitmqConnectionConfig,
  type RabbitmqConnectionConfigInput,
} from './rabbitmq-connection-config.js';
export { RabbitmqConnector, type RabbitmqConnectorOptions } from './rabbitmq-connector.js';
export { RabbitmqDeadLetters } from './rabbitmq-dead-letters.js';
export {
  RabbitmqConnectorConfigCodec,
  rabbitmqConnectorConfig,
  type AmqpArguments,
  type RabbitmqBindingConfig,
  type RabbitmqConnectorConfig,
  type RabbitmqConnectorConfigInput,
  type RabbitmqDeadLetterConfig,
  type RabbitmqExchangeConfig,
  type RabbitmqPublishConfig,
  type RabbitmqQueueType,
} from './rabbitmq-connector-config.js';
export {
  RabbitmqService,
  type RabbitmqConnectionState,
  type RabbitmqServiceOptions,
} from './rabbitmq-service.js';
