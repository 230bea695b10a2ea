import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import type { OtlpConnections } from '../otlp-connections.js';
import { otlpGrpcOptions } from '../otlp-grpc-options.js';
import type { LogLevelName } from './log-level.js';
import type { OtlpSinkConfig } from './logging-config.js';
import { MinimumSeverityProcessor } from './minimum-severity-processor.js';

const minimumSeverity: Readonly<Record<LogLevelName, number>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * An OpenTelemetry logger provider that exports to each OTLP sink's collector over gRPC, one
 * batch processor per sink (records below a sink's own level are left out of its batches).
 *
 * @example
 * ```ts
 * const provider = otlpLoggerProvider([{ type: 'otlp', endpoint: 'http://localhost:4317', headers: {}, timeout: null, level: null }], resource);
 * ```
 */
export function otlpLoggerProvider(
  sinks: readonly OtlpSinkConfig[],
  resource: Resource,
  connections?: OtlpConnections,
): LoggerProvider {
  const processors = sinks.map((sink): LogRecordProcessor => {
    const exporter = new OTLPLogExporter(otlpGrpcOptions(sink));
    connections?.add(exporter);
    const batch = new BatchLogRecordProcessor({ exporter });
    return sink.level === null
      ? batch
      : new MinimumSeverityProcessor(batch, minimumSeverity[sink.level]);
  });
  return new LoggerProvider({ resource, processors });
}
