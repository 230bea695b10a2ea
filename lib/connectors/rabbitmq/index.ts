export { AmqpUrl, redactAmqpUrl } from './amqp-url.js';
export { ConfirmPublisher } from './confirm-publisher.js';
export { deliveryCount } from './delivery-count.js';
export { MaxDeliveriesExceededError } from './max-deliveries-exceeded-error.js';
export { messageIdentity } from './message-identity.js';
export {
  RabbitmqConnectionConfigCodec,
  rabbitmqConnectionConfig,
  type RabbitmqConnectionConfig,
  type RabbitmqConnectionConfigInput,
} from './rabbitmq-connection-config.js';
export { RabbitmqConnectionError } from './rabbitmq-connection-error.js';
export { RabbitmqConnector, type RabbitmqConnectorOptions } from './rabbitmq-connector.js';
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
export { RabbitmqDeadLetterError } from './rabbitmq-dead-letter-error.js';
export { RabbitmqPublishError, type RabbitmqPublishFailure } from './rabbitmq-publish-error.js';
export {
  RabbitmqService,
  type RabbitmqConnectionState,
  type RabbitmqServiceOptions,
} from './rabbitmq-service.js';
export { RabbitmqTopologyError } from './rabbitmq-topology-error.js';
export {
  connectorTopology,
  queueArguments,
  type RabbitmqBindingDeclaration,
  type RabbitmqQueueDeclaration,
  type RabbitmqTopology,
} from './rabbitmq-topology.js';
