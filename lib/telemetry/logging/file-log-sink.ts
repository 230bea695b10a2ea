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
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
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

/** When a {@link TimedRotatingFileLogSink} starts a new file and how many old ones it keeps. */
export interface TimedRotation {
  /** A new file at the start of every hour, or every day at midnight. */
  readonly every: 'hour' | 'day';
  /** Old files kept (the newest), e.g. `app.log.2026-12-06`; `0` keeps none. */
  readonly backups: number;
  /** Periods in UTC rather than local time. */
  readonly utc: boolean;
  /** Where the time is read (default `asyncScheduler`; a `TestScheduler` in virtual time). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Appends records to a file like {@link FileLogSink} and rotates it by time: the first line
 * written in a new period (hour, or day from midnight, local time unless `utc`) first renames
 * `app.log` to `app.log.<period it covered>` (`app.log.2026-12-06` daily,
 * `app.log.2026-12-06_23` hourly) and deletes the oldest such files beyond `backups`; writing
 * goes on in a new `app.log`. The period of a file found at start is that of its last
 * modification, so a restart after midnight still rotates yesterday's lines away. Rotation
 * happens on writes (no timer keeps the process alive); an idle period leaves no file. One
 * process per file, symbolic links and special files as for {@link RotatingFileLogSink}.
 *
 * @example
 * ```ts
 * const sink = new TimedRotatingFileLogSink('logs/app.log', formatterFor('json'), { every: 'day', backups: 7, utc: false });
 * ```
 */
export class TimedRotatingFileLogSink extends FileLogSink {
  private readonly path: string;
  private readonly scheduler: SchedulerLike;
  /** Start of the period the current file holds, and of the next one (epoch ms). */
  private periodStart: number;
  private nextPeriod: number;

  constructor(
    path: string,
    format: LogFormatter,
    private readonly rotation: TimedRotation,
  ) {
    const target = linkTarget(path);
    super(target, format);
    this.path = target;
    this.scheduler = rotation.scheduler ?? asyncScheduler;
    let since = this.scheduler.now();
    try {
      since = Math.min(since, statSync(target).mtimeMs);
    } catch {
      // no file yet: it starts now
    }
    this.periodStart = periodStart(since, rotation);
    this.nextPeriod = nextPeriodStart(this.periodStart, rotation);
  }

  protected override beforeAppend(): void {
    const now = this.scheduler.now();
    if (now < this.nextPeriod) return;
    const covered = this.periodStart;
    this.periodStart = periodStart(now, this.rotation);
    this.nextPeriod = nextPeriodStart(this.periodStart, this.rotation);
    if (this.file.size === 0 || !this.file.isRegularFile) return;
    this.file.close();
    renameSync(this.path, freeName(`${this.path}.${periodSuffix(covered, this.rotation)}`));
    this.dropOldBackups();
  }

  private dropOldBackups(): void {
    const folder = dirname(this.path);
    const prefix = `${basename(this.path)}.`;
    const pattern = this.rotation.every === 'day' ? dailySuffix : hourlySuffix;
    const backups = readdirSync(folder)
      .filter((name) => name.startsWith(prefix) && pattern.test(name.slice(prefix.length)))
      .sort();
    for (const name of backups.slice(0, Math.max(0, backups.length - this.rotation.backups))) {
      rmSync(join(folder, name), { force: true });
    }
  }
}

const dailySuffix = /^\d{4}-\d{2}-\d{2}(\.\d+)?$/;
const hourlySuffix = /^\d{4}-\d{2}-\d{2}_\d{2}(\.\d+)?$/;

/** `path`, or `path.1`, `path.2`… when a file of that name exists already (never overwrite). */
function freeName(path: string): string {
  let candidate = path;
  for (let n = 1; existsSync(candidate); n++) candidate = `${path}.${n}`;
  return candidate;
}

/** The start (epoch ms) of the hour or day holding `time`. */
function periodStart(time: number, rotation: TimedRotation): number {
  const date = new Date(time);
  if (rotation.utc) {
    date.setUTCMinutes(0, 0, 0);
    if (rotation.every === 'day') date.setUTCHours(0);
  } else {
    date.setMinutes(0, 0, 0);
    if (rotation.every === 'day') date.setHours(0);
  }
  return date.getTime();
}

/** The start of the period after the one starting at `start` (daylight saving time included). */
function nextPeriodStart(start: number, rotation: TimedRotation): number {
  const date = new Date(start);
  if (rotation.every === 'hour') return periodStart(start + 3_600_000, rotation);
  if (rotation.utc) date.setUTCDate(date.getUTCDate() + 1);
  else date.setDate(date.getDate() + 1);
  return periodStart(date.getTime(), rotation);
}

/** `YYYY-MM-DD` (daily) or `YYYY-MM-DD_HH` (hourly) of the period starting at `start`. */
function periodSuffix(start: number, rotation: TimedRotation): string {
  const date = new Date(start);
  const two = (n: number): string => String(n).padStart(2, '0');
  const [year, month, day, hour] = rotation.utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours()];
  const dayText = `${year}-${two(month)}-${two(day)}`;
  return rotation.every === 'day' ? dayText : `${dayText}_${two(hour)}`;
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
