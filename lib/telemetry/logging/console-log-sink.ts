import type { LogMethodName } from './log-level.js';
import type { LogFormatter } from './log-format.js';
import type { LogRecord } from './log-record.js';
import type { LogSink } from './log-sink.js';
import { SinkFailureWarning } from './sink-failure-warning.js';

/** Something a console sink writes lines to (`process.stdout`, a test's capture). */
export interface LineStream {
  write(text: string): unknown;
}

const toStderr: ReadonlySet<LogMethodName> = new Set(['warn', 'error']);

/**
 * Writes each record as a line to standard output (`trace` … `info`) or standard error
 * (`warn`, `error`).
 *
 * @example
 * ```ts
 * new ConsoleLogSink(formatterFor('pretty')).write(record);
 * ```
 */
export class ConsoleLogSink implements LogSink {
  private readonly warning = new SinkFailureWarning('console log sink');

  constructor(
    private readonly format: LogFormatter,
    private readonly stdout: LineStream = process.stdout,
    private readonly stderr: LineStream = process.stderr,
  ) {}

  write(record: LogRecord): void {
    try {
      const stream = toStderr.has(record.level) ? this.stderr : this.stdout;
      stream.write(`${this.format(record)}\n`);
      this.warning.clear();
    } catch (error) {
      this.warning.raise(error);
    }
  }
}
