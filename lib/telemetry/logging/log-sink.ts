import type { LogRecord } from './log-record.js';

/**
 * Where log records go. `write` must not throw (a sink that fails reports it once with a
 * process warning and goes on); `flush` and `shutdown` are awaited by the logging handle.
 * Implement it to capture records in tests or to ship them somewhere ergon-rx does not know.
 *
 * @example
 * ```ts
 * const records: LogRecord[] = [];
 * configureLogging({ level: 'debug', sinks: [{ write: (record) => records.push(record) }] });
 * ```
 */
export interface LogSink {
  /** Called once when logging is configured; throw to make the setup fail (a bad file path). */
  open?(): void;
  write(record: LogRecord): void;
  flush?(): Promise<void>;
  shutdown?(): Promise<void>;
}
