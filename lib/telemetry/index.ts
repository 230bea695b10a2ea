export { setupTelemetry, type SetupTelemetryOptions } from './setup-telemetry.js';
export type { TelemetryHandle } from './telemetry-handle.js';
export { TelemetryExportError } from './telemetry-export-error.js';
export { TelemetrySetupError } from './telemetry-setup-error.js';
export { processExecutionId } from './execution-id.js';
export { telemetryResource } from './telemetry-resource.js';

export {
  telemetryConfig,
  TelemetryConfigCodec,
  type TelemetryConfig,
  type TelemetryConfigInput,
} from './config/telemetry-config.js';
export { telemetryInputFromEnvironment, type Environment } from './config/telemetry-environment.js';
export type { ResourceConfig, ResourceConfigInput } from './config/telemetry-config.js';
export type { TracesConfig, TracesConfigInput, SpanProcessorType } from './config/traces-config.js';
export type {
  SamplerConfig,
  SamplerInput,
  SpanExporterConfig,
  SpanExporterInput,
} from './config/traces-config.js';
export type { MetricsConfig, MetricsConfigInput } from './config/metrics-config.js';
export type {
  ConsoleMetricReaderConfig,
  MetricReaderConfig,
  MetricReaderInput,
  OtlpMetricReaderConfig,
  PrometheusMetricReaderConfig,
} from './config/metrics-config.js';
export type { OtlpEndpoint, OtlpEndpointInput } from './config/otlp-endpoint.js';
export type { OtlpHeaders } from './config/otlp-endpoint.js';

export {
  configureLogging,
  type ConfigureLoggingOptions,
  type LoggingHandle,
} from './logging/configure-logging.js';
export { getLogger } from './logging/get-logger.js';
export {
  loggingConfig,
  LoggingConfigCodec,
  type ConsoleSinkConfig,
  type FileSinkConfig,
  type LoggingConfig,
  type LoggingConfigInput,
  type LogSinkConfig,
  type LogSinkInput,
  type OtlpSinkConfig,
  type RotatingFileSinkConfig,
  type SinkOptions,
} from './logging/logging-config.js';
export type { LogFormat, LogFormatter } from './logging/log-format.js';
export { formatterFor } from './logging/log-format.js';
export type { LogLevelName, LogMethodName } from './logging/log-level.js';
export type { LogRecord } from './logging/log-record.js';
export type { LogSink } from './logging/log-sink.js';
export type { LoggedError } from './logging/logged-error.js';
export { formatJsonLine } from './logging/json-log-format.js';
export { formatPrettyLine } from './logging/pretty-log-format.js';
export { ConsoleLogSink, type LineStream } from './logging/console-log-sink.js';
export { FileLogSink } from './logging/file-log-sink.js';
export { RotatingFileLogSink, type RotationLimits } from './logging/rotating-file-log-sink.js';
export { OtlpLogSink } from './logging/otlp-log-sink.js';

export {
  taskNameIn,
  taskNameKey,
  transactionIdIn,
  transactionIdKey,
  withTaskName,
  withTransactionId,
} from '../core/transaction-context.js';
