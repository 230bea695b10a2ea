export { setupTelemetry, type SetupTelemetryOptions } from './setup-telemetry.js';
export type { TelemetryHandle } from './telemetry-handle.js';
export { TelemetryExportError, TelemetrySetupError } from './telemetry-errors.js';
export { processExecutionId } from './telemetry-resource.js';
export {
  EngineMetricProducer,
  type EngineMetricProducerOptions,
} from './engine-metric-producer.js';

export {
  telemetryConfig,
  TelemetryConfigCodec,
  type TelemetryConfig,
  type TelemetryConfigInput,
} from './config/telemetry-config.js';
export { telemetryInputFromEnvironment, type Environment } from './config/telemetry-environment.js';
export type {
  ResourceAttributeValue,
  ResourceConfig,
  ResourceConfigInput,
} from './config/telemetry-config.js';
export type { TracesConfig, TracesConfigInput, SpanProcessorType } from './config/traces-config.js';
export {
  setAttemptSpans,
  type AttemptSpans,
} from '../engine/internal/instrumentation/run-telemetry.js';
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
  type TimedRotatingFileSinkConfig,
} from './logging/logging-config.js';
export {
  FileLogSink,
  RotatingFileLogSink,
  TimedRotatingFileLogSink,
  type RotationLimits,
  type TimedRotation,
} from './logging/file-log-sink.js';
export {
  formatJsonLine,
  formatPrettyLine,
  formatterFor,
  type LogFormat,
  type LogFormatter,
} from './logging/log-format.js';
export type { LogLevelName, LogMethodName } from './logging/log-level.js';
export type { LoggedError, LogRecord } from './logging/log-record.js';
export { ConsoleLogSink, type LineStream, type LogSink } from './logging/log-sink.js';
export { OtlpLogSink } from './logging/otlp-log-sink.js';

export {
  taskNameIn,
  taskNameKey,
  transactionIdIn,
  transactionIdKey,
  withTaskName,
  withTransactionId,
} from '../core/transaction-context.js';
