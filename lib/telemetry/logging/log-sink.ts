import { describeError } from '../../core/renderers.js';
import type { LogFormatter } from './log-format.js';
import type { LogMethodName } from './log-level.js';
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

/**
 * Tells about a failing log sink without flooding: the first failure becomes a process
 * warning (`ErgonLogSinkWarning`, shown on stderr by default), later ones are silent until a
 * write succeeds again. Logging never throws into the caller, so this is the only trace a
 * broken sink leaves.
 *
 * @example
 * ```ts
 * const warning = new SinkFailureWarning('file sink app.log');
 * try { append(line); warning.clear(); } catch (error) { warning.raise(error); }
 * ```
 */
export class SinkFailureWarning {
  private raised = false;

  constructor(private readonly sink: string) {}

  raise(error: unknown): void {
    if (this.raised) return;
    this.raised = true;
    process.emitWarning(`${this.sink} failed: ${describeError(error)}`, 'ErgonLogSinkWarning');
  }

  clear(): void {
    this.raised = false;
  }
}

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
