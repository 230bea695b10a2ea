import { existsSync, lstatSync, readlinkSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppendingLogFile } from './appending-log-file.js';
import type { LogFormatter } from './log-format.js';
import type { LogRecord } from './log-record.js';
import type { LogSink } from './log-sink.js';
import { SinkFailureWarning } from './sink-failure-warning.js';

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
export class RotatingFileLogSink implements LogSink {
  private readonly file: AppendingLogFile;
  private readonly warning: SinkFailureWarning;

  private readonly path: string;

  constructor(
    path: string,
    private readonly format: LogFormatter,
    private readonly limits: RotationLimits,
  ) {
    this.path = linkTarget(path);
    this.file = new AppendingLogFile(this.path);
    this.warning = new SinkFailureWarning(`rotating file log sink ${path}`);
  }

  write(record: LogRecord): void {
    try {
      const line = Buffer.from(`${this.format(record)}\n`);
      const size = this.file.size;
      if (size > 0 && size + line.length > this.limits.maxBytes && this.file.isRegularFile) {
        this.rotate();
      }
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

  async shutdown(): Promise<void> {
    this.file.close();
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
