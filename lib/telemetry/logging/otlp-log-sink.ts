import { SeverityNumber, type Logger, type LoggerProvider } from '@opentelemetry/api-logs';
import type { LogMethodName } from './log-level.js';
import { logAttributes } from './log-attributes.js';
import type { LogRecord } from './log-record.js';
import type { LogSink } from './log-sink.js';
import { SinkFailureWarning } from './sink-failure-warning.js';

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

  constructor(private readonly provider: LoggerProvider) {}

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
