import { readFile } from 'node:fs/promises';
import { appendFileCreatingFolders } from '../../file/internal/creating-folders.js';
import { ExcelLedgerError } from '../errors.js';

/** How a row was settled. */
export type LedgerOutcome = 'ack' | 'deadLetter' | 'release';

/** One line of the ledger. */
export interface LedgerLine {
  readonly sheet: string;
  readonly row: number;
  /** The row's content hash when it was settled: an edited row is processed again. */
  readonly hash: string;
  readonly outcome: LedgerOutcome;
  readonly id: string;
  readonly error?: string;
  /** When (ISO 8601). */
  readonly at: string;
}

const outcomes: readonly string[] = ['ack', 'deadLetter', 'release'] satisfies LedgerOutcome[];

/**
 * The side ledger of a workbook: a JSON-lines file, appended to (never rewritten), one line
 * per settlement. A row whose last line is an `ack` or `deadLetter` with the row's current
 * content hash is done and skipped by the next run; a `release` line records the release
 * (the row is read again). A torn last line (a crash during the append) is ignored: that
 * row is processed again (at-least-once). Appends of one turn go out in one write.
 */
export class RowLedger {
  /** `sheet!row` → hash of the rows that are done. */
  private readonly done = new Map<string, string>();
  private queued: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private waiting: Promise<void> | null = null;
  /** Why the last write failed, until one succeeds. */
  error: unknown = undefined;

  constructor(readonly path: string) {}

  /** Reads the ledger (an absent one is empty). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const lines = text.split('\n');
    lines.pop(); // '' when the file ends with a newline; else a torn last line: ignored
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      const entry = parseLine(line);
      if (entry === undefined) {
        throw new ExcelLedgerError(
          this.path,
          `line ${index + 1} of the ledger ${this.path} is not a ledger entry: it is corrupt. ` +
            'Remove that line (its row is then processed again), or delete the ledger to process every row again',
        );
      }
      this.record(entry);
    });
  }

  /** Whether the row with this content was acked or dead-lettered. */
  isDone(sheet: string, row: number, hash: string): boolean {
    return this.done.get(`${sheet}!${row}`) === hash;
  }

  /** Appends an entry; resolves once it is written (with the other entries of its turn). */
  append(entry: LedgerLine): Promise<void> {
    this.queued.push(`${JSON.stringify(entry)}\n`);
    this.waiting ??= this.writing.then(() => {
      const text = this.queued.join('');
      this.queued = [];
      this.waiting = null;
      return appendFileCreatingFolders(this.path, text);
    });
    const written = this.waiting.then(
      () => {
        this.error = undefined;
        this.record(entry);
      },
      (error: unknown) => {
        this.error = error;
        throw error;
      },
    );
    this.writing = written.catch(() => undefined);
    return written;
  }

  /** Resolves once every append asked for so far was written (or failed). */
  async flushed(): Promise<void> {
    await this.writing;
    await this.waiting?.catch(() => undefined);
  }

  private record(entry: LedgerLine): void {
    const key = `${entry.sheet}!${entry.row}`;
    if (entry.outcome === 'release') {
      if (this.done.get(key) === entry.hash) this.done.delete(key);
    } else {
      this.done.set(key, entry.hash);
    }
  }
}

function parseLine(line: string): LedgerLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = value as Partial<Record<keyof LedgerLine, unknown>>;
  return typeof entry.sheet === 'string' &&
    Number.isSafeInteger(entry.row) &&
    typeof entry.hash === 'string' &&
    typeof entry.outcome === 'string' &&
    outcomes.includes(entry.outcome)
    ? (value as LedgerLine)
    : undefined;
}
