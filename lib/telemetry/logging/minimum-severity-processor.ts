import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/**
 * A log record processor that passes on only records of at least `minimum` severity, so one
 * OTLP sink can take warnings only while another takes everything.
 *
 * @example
 * ```ts
 * new MinimumSeverityProcessor(new BatchLogRecordProcessor({ exporter }), SeverityNumber.WARN);
 * ```
 */
export class MinimumSeverityProcessor implements LogRecordProcessor {
  constructor(
    private readonly inner: LogRecordProcessor,
    private readonly minimum: number,
  ) {}

  onEmit(logRecord: ReadWriteLogRecord, context?: Context): void {
    if ((logRecord.severityNumber ?? 0) >= this.minimum) this.inner.onEmit(logRecord, context);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
