import type { LogRecord, LogSink } from '../../../lib/telemetry/index.js';

/** A log sink for specs that keeps every record it is given. */
export class CapturedRecords implements LogSink {
  readonly records: LogRecord[] = [];

  write(record: LogRecord): void {
    this.records.push(record);
  }

  /** The messages, in order. */
  get messages(): string[] {
    return this.records.map((record) => record.message);
  }
}
