import type { Context } from '@opentelemetry/api';
import {
  SeverityNumber,
  type AnyValue,
  type AnyValueMap,
  type Logger,
  type LoggerProvider as LogsApiLoggerProvider,
} from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { loadOptionalPackage } from '../optional-package.js';
import { type OtlpConnections, otlpGrpcOptions } from '../otlp-connections.js';
import type { LogMethodName, LogLevelName } from './log-level.js';
import { loggedError, type LogRecord } from './log-record.js';
import { type LogSink, SinkFailureWarning } from './log-sink.js';
import type { OtlpSinkConfig } from './logging-config.js';

const severities: Readonly<Record<LogMethodName, SeverityNumber>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/**
 * Hands records to an OpenTelemetry logger provider (the one `setupTelemetry` builds, whose
 * processors export over OTLP). Each loglevel logger becomes an instrumentation scope of the
 * same name; the record keeps the context of the call, so the exported log carries its trace
 * and span ids; the error becomes the `exception.*` attributes.
 *
 * @example
 * ```ts
 * const sink = new OtlpLogSink(loggerProvider);
 * sink.write(record); // exported by the provider's processors
 * ```
 */
export class OtlpLogSink implements LogSink {
  private readonly loggers = new Map<string, Logger>();
  private readonly warning = new SinkFailureWarning('OTLP log sink');

  constructor(private readonly provider: LogsApiLoggerProvider) {}

  write(record: LogRecord): void {
    try {
      this.loggerNamed(record.logger).emit({
        timestamp: record.timestamp,
        severityNumber: severities[record.level],
        severityText: record.level.toUpperCase(),
        body: record.message,
        attributes: logAttributes(record),
        context: record.context,
        ...(record.error === undefined
          ? {}
          : {
              exception: {
                name: record.error.type,
                message: record.error.message,
                stack: record.error.stack,
              },
            }),
      });
      this.warning.clear();
    } catch (error) {
      this.warning.raise(error);
    }
  }

  private loggerNamed(name: string): Logger {
    let logger = this.loggers.get(name);
    if (logger === undefined) {
      logger = this.provider.getLogger(name);
      this.loggers.set(name, logger);
    }
    return logger;
  }
}

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
  const { OTLPLogExporter } = loadOptionalPackage(
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

/**
 * A log record processor that passes on only records of at least `minimum` severity, so one
 * OTLP sink can take warnings only while another takes everything.
 *
 * @example
 * ```ts
 * new MinimumSeverityProcessor(new BatchLogRecordProcessor({ exporter }), SeverityNumber.WARN);
 * ```
 */
class MinimumSeverityProcessor implements LogRecordProcessor {
  constructor(
    private readonly inner: LogRecordProcessor,
    private readonly minimum: number,
  ) {}

  onEmit(logRecord: ReadWriteLogRecord, context?: Context): void {
    const severity: number = logRecord.severityNumber ?? 0;
    if (severity >= this.minimum) this.inner.onEmit(logRecord, context);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

const deepestValue = 4;

/**
 * The OpenTelemetry attributes of a record: its fields (nested objects and arrays kept, bigints
 * and other non-JSON values as strings, functions and symbols left out), plus
 * `ergon.transaction.id` and `ergon.task.name` when known. Trace context and the error travel
 * in the OpenTelemetry record itself, not as attributes.
 *
 * @example
 * ```ts
 * logAttributes(record); // { id: 7, 'ergon.transaction.id': 'order-1', 'ergon.task.name': 'orders' }
 * ```
 */
function logAttributes(record: LogRecord): AnyValueMap {
  const attributes = anyValueMap(record.fields, 0);
  if (record.transactionId !== undefined) {
    attributes['ergon.transaction.id'] = record.transactionId;
  }
  if (record.task !== undefined) attributes['ergon.task.name'] = record.task;
  return attributes;
}

function anyValueMap(fields: Readonly<Record<string, unknown>>, depth: number): AnyValueMap {
  const map: AnyValueMap = {};
  for (const [key, value] of Object.entries(fields)) {
    const converted = anyValue(value, depth);
    if (converted !== undefined) map[key] = converted;
  }
  return map;
}

function anyValue(value: unknown, depth: number): AnyValue {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
    case 'undefined':
      return undefined;
    default:
      break;
  }
  if (value === null || value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= deepestValue) return '[…]';
  if (value instanceof Error) return anyValueMap({ ...loggedError(value) }, depth + 1);
  if (Array.isArray(value)) return value.map((item: unknown) => anyValue(item, depth + 1) ?? null);
  if (isPlainObject(value)) return anyValueMap(value, depth + 1);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any other object is logged as its own string form (a URL its href), `[object Map]` and the like otherwise
  return String(value);
}
