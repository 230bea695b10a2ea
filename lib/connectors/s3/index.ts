export { S3LineError } from './errors.js';
export { S3Connector } from './s3-connector.js';
export type { S3TransactionMetadata } from './internal/s3-object.js';
export {
  S3ConnectorConfigCodec,
  s3ConnectorConfig,
  type S3AckAction,
  type S3ConnectorConfig,
  type S3ConnectorConfigInput,
  type S3ObjectFormat,
  type S3Partition,
} from './s3-connector-config.js';
export {
  AwsConnectionConfigCodec,
  awsConnectionConfig,
  type AwsConnectionConfig,
  type AwsConnectionConfigInput,
  type AwsCredentials,
} from '../aws/aws-connection-config.js';
