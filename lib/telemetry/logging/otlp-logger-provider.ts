import type * as OtlpLogExporterPackage from '@opentelemetry/exporter-logs-otlp-grpc';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { loadOptionalPackage } from '../optional-package.js';
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
 * @throws TelemetrySetupError naming the `npm install` to run when
 * `@opentelemetry/exporter-logs-otlp-grpc` is not installed.
 */
export function otlpLoggerProvider(
  sinks: readonly OtlpSinkConfig[],
  resource: Resource,
  connections?: OtlpConnections,
): LoggerProvider {
  const { OTLPLogExporter } = loadOptionalPackage<typeof OtlpLogExporterPackage>(
    '@opentelemetry/exporter-logs-otlp-grpc',
    'the OTLP log sink',
  );
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
