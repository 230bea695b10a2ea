import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  writeSync,
  existsSync,
  lstatSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LogFormatter } from './log-format.js';
import type { LogRecord } from './log-record.js';
import { type LogSink, SinkFailureWarning } from './log-sink.js';

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
  protected readonly file: AppendingLogFile;
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
      const line = Buffer.from(`${this.format(record)}\n`);
      this.beforeAppend(line.length);
      this.file.append(line);
      this.warning.clear();
    } catch (error) {
      this.warning.raise(error);
    }
  }

  /** Opens (creating) the file now, so a bad path fails at setup. @throws what `open(2)` throws. */
  open(): void {
    this.file.open();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so a failing close comes back as the rejected Promise LogSink.shutdown returns, not a synchronous throw
  async shutdown(): Promise<void> {
    this.file.close();
  }

  /** Called with each line's size before it is appended; a throw counts as a failed write. */
  protected beforeAppend(_lineBytes: number): void {
    // a plain file grows without limit
  }
}

/**
 * A log file written with synchronous appends: each line is on disk (in the OS cache) when
 * the log call returns, so nothing is lost on a crash or a hard exit and there is nothing to
 * flush. The file and its folder are created on the first append; after a failed append the
 * file is closed and the next append opens it again (say, after the folder was recreated).
 *
 * @example
 * ```ts
 * const file = new AppendingLogFile('/var/log/ergon/app.log');
 * file.append(Buffer.from('{"message":"hello"}\n'));
 * file.size; // bytes in the file
 * ```
 */
class AppendingLogFile {
  private descriptor: number | undefined;
  private bytes = 0;
  private regular = true;

  constructor(readonly path: string) {}

  /** The file's size in bytes as this writer knows it (opening the file if needed). */
  get size(): number {
    this.open();
    return this.bytes;
  }

  /**
   * Whether the file is a regular file (opening it if needed): `false` for standard output, a
   * terminal, a pipe or another special file, which must never be renamed or truncated.
   */
  get isRegularFile(): boolean {
    this.open();
    return this.regular;
  }

  append(data: Uint8Array): void {
    const descriptor = this.open();
    try {
      let written = 0;
      while (written < data.length) written += writeSync(descriptor, data, written);
      this.bytes += written;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  close(): void {
    if (this.descriptor === undefined) return;
    const descriptor = this.descriptor;
    this.descriptor = undefined;
    closeSync(descriptor);
  }

  /** Opens the file (creating it and its folder) unless it is open; returns its descriptor. */
  open(): number {
    if (this.descriptor !== undefined) return this.descriptor;
    mkdirSync(dirname(this.path), { recursive: true });
    const descriptor = openSync(this.path, 'a');
    const stats = fstatSync(descriptor);
    this.bytes = stats.size;
    this.regular = stats.isFile();
    this.descriptor = descriptor;
    return descriptor;
  }
}

/** When a {@link RotatingFileLogSink} starts a new file and how many old ones it keeps. */
export interface RotationLimits {
  /** A line that would take the file past this many bytes goes to a fresh file. */
  readonly maxBytes: number;
  /** Old files kept as `app.log.1` (newest) … `app.log.N`; `0` truncates instead. */
  readonly backups: number;
}

/**
 * Appends records to a file like {@link FileLogSink} and rotates it by size: before a line
 * would take `app.log` past `maxBytes`, `app.log.N-1` becomes `app.log.N` (the oldest is
 * dropped), …, `app.log` becomes `app.log.1`, and writing goes on in a new `app.log`. A line
 * longer than `maxBytes` gets a file of its own. One process per file: two writers rotating
 * the same file would overwrite each other's backups (a worker pool's runner gives each
 * process a file of its own).
 *
 * A symbolic link is resolved when the sink is made: the file it points to is written and
 * rotated (its backups beside it), and the link stays as it is. A path that is not a regular
 * file (`/dev/stdout`, a terminal, a named pipe) is appended to and never rotated.
 *
 * @example
 * ```ts
 * const sink = new RotatingFileLogSink('logs/app.log', formatterFor('json'), { maxBytes: 10_000_000, backups: 5 });
 * ```
 */
export class RotatingFileLogSink extends FileLogSink {
  private readonly path: string;

  constructor(
    path: string,
    format: LogFormatter,
    private readonly limits: RotationLimits,
  ) {
    const target = linkTarget(path);
    super(target, format);
    this.path = target;
  }

  protected override beforeAppend(lineBytes: number): void {
    const size = this.file.size;
    if (size > 0 && size + lineBytes > this.limits.maxBytes && this.file.isRegularFile) {
      this.rotate();
    }
  }

  private rotate(): void {
    this.file.close();
    const { backups } = this.limits;
    if (backups === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    for (let index = backups - 1; index >= 1; index--) {
      const older = `${this.path}.${index}`;
      if (existsSync(older)) renameSync(older, `${this.path}.${index + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
  }
}

/** Where `path` leads through symbolic links (the link's target even when it does not exist yet). */
function linkTarget(path: string): string {
  let current = path;
  for (let hops = 0; hops < 32; hops++) {
    try {
      if (!lstatSync(current).isSymbolicLink()) return current;
    } catch {
      return current; // missing: created on the first append
    }
    try {
      return realpathSync(current);
    } catch {
      current = resolve(dirname(current), readlinkSync(current));
    }
  }
  return current;
}

/**
 * A log file name with its placeholders filled in: `{pid}` (the process id), `{task}` (the
 * task name, `ergon` when there is none) and `{timestamp}` (local time at setup,
 * `YYYY-MM-DD_HH-MM-SS`), as the Python reference spells them.
 *
 * @example
 * ```ts
 * logFilePath('logs/{task}-{pid}.log', 'orders'); // 'logs/orders-4242.log'
 * ```
 */
export function logFilePath(template: string, task: string | undefined, now = new Date()): string {
  return template
    .replaceAll('{pid}', String(process.pid))
    .replaceAll('{task}', task ?? 'ergon')
    .replaceAll('{timestamp}', fileTimestamp(now));
}

function fileTimestamp(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day}_${two(date.getHours())}-${two(date.getMinutes())}-${two(date.getSeconds())}`;
}

/**
 * The path one writer of a rotating log file uses when several processes log with the same
 * configuration (a worker pool): `writer` inserted before the extension, so each process
 * rotates a file of its own and none renames another's lines away. A path that already
 * differs per process (`{pid}` in the template) is left as it is.
 *
 * @example
 * ```ts
 * writerLogFilePath('logs/app.log', 'logs/app.log', 'worker-2'); // 'logs/app.worker-2.log'
 * ```
 */
export function writerLogFilePath(
  path: string,
  template: string,
  writer: string | undefined,
): string {
  if (writer === undefined || template.includes('{pid}')) return path;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `${path}.${writer}`;
  const extension = name.slice(dot);
  return `${path.slice(0, path.length - extension.length)}.${writer}${extension}`;
}
