export { SqsBodyError, SqsQueueError, SqsSendError } from './errors.js';
export { SqsConnector } from './sqs-connector.js';
export type { SqsTransactionMetadata } from './internal/sqs-message.js';
export {
  SqsConnectorConfigCodec,
  sqsConnectorConfig,
  type SqsConnectorConfig,
  type SqsConnectorConfigInput,
} from './sqs-connector-config.js';
export {
  AwsConnectionConfigCodec,
  awsConnectionConfig,
  type AwsConnectionConfig,
  type AwsConnectionConfigInput,
  type AwsCredentials,
} from '../aws/aws-connection-config.js';
