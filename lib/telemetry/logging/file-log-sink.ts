import { AppendingLogFile } from './appending-log-file.js';
import type { LogFormatter } from './log-format.js';
import type { LogRecord } from './log-record.js';
import type { LogSink } from './log-sink.js';
import { SinkFailureWarning } from './sink-failure-warning.js';

/**
 * Appends each record as a line to a file, synchronously (see {@link AppendingLogFile}), so
 * there is nothing to lose at exit. The file stays open until `shutdown`.
 *
 * @example
 * ```ts
 * const sink = new FileLogSink('logs/app.log', formatterFor('json'));
 * sink.write(record);
 * await sink.shutdown();
 * ```
 */
export class FileLogSink implements LogSink {
  private readonly file: AppendingLogFile;
  private readonly warning: SinkFailureWarning;

  constructor(
    path: string,
    private readonly format: LogFormatter,
  ) {
    this.file = new AppendingLogFile(path);
    this.warning = new SinkFailureWarning(`file log sink ${path}`);
  }

  write(record: LogRecord): void {
    try {
      this.file.append(Buffer.from(`${this.format(record)}\n`));
      this.warning.clear();
    } catch (error) {
      this.warning.raise(error);
    }
  }

  /** Opens (creating) the file now, so a bad path fails at setup. @throws what `open(2)` throws. */
  open(): void {
    this.file.open();
  }

  async shutdown(): Promise<void> {
    this.file.close();
  }
}
