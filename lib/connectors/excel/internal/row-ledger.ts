import { readFile } from 'node:fs/promises';
import { appendFileCreatingFolders } from '../../file/internal/creating-folders.js';
import { ExcelLedgerError } from '../errors.js';

/** How a row was settled. */
export type LedgerOutcome = 'ack' | 'deadLetter' | 'release';

/** The row a ledger line is about. */
export interface LedgerRow {
  readonly sheet: string;
  readonly row: number;
  /** The row's content hash when it was settled: an edited row is processed again. */
  readonly hash: string;
  /** The transaction's id. */
  readonly id: string;
}

/** One line of the ledger. */
interface LedgerLine extends LedgerRow {
  readonly outcome: LedgerOutcome;
  /** A dead letter's error message. */
  readonly error?: string;
  /** When it was written (ISO 8601). */
  readonly at: string;
}

const outcomes: readonly string[] = ['ack', 'deadLetter', 'release'] satisfies LedgerOutcome[];

/**
 * The side ledger of a workbook: a JSON-lines file, appended to (never rewritten), one line
 * per settlement. A row whose last line is an `ack` or `deadLetter` with the row's current
 * content hash is done and skipped by the next run; a `release` line records the release
 * (the row is read again). A torn last line (a crash during the append) is ignored: that
 * row is processed again (at-least-once). The entries appended while a write is under way, or
 * in one turn, go out in the next write: one append of their lines, all with that write's
 * time (`at`).
 */
export class RowLedger {
  /** Sheet → row → hash of the rows that are done. */
  private readonly done = new Map<string, Map<number, string>>();
  /** The settlements to write next: the rows, their outcomes, dead letters' errors. */
  private queued: LedgerRow[] = [];
  private outcomes: LedgerOutcome[] = [];
  private errors: (string | undefined)[] = [];
  /** The write the queued entries go out in (not started yet), shared by them. */
  private pending: Promise<void> | null = null;
  /** The last write asked for (never rejects). */
  private writing: Promise<void> = Promise.resolve();
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
      this.record(entry, entry.outcome);
    });
  }

  /** Whether the row with this content was acked or dead-lettered. */
  isDone(sheet: string, row: number, hash: string): boolean {
    return this.done.get(sheet)?.get(row) === hash;
  }

  /**
   * Queues a settlement for the next write; resolves once it is written (the promise is shared
   * by the settlements of that write; a failed write sets {@link error}, and needs no handler).
   */
  append(row: LedgerRow, outcome: LedgerOutcome, error?: string): Promise<void> {
    this.queued.push(row);
    this.outcomes.push(outcome);
    this.errors.push(error);
    if (this.pending === null) {
      this.pending = this.writing.then(() => this.writeQueued());
      this.writing = this.pending.catch(() => undefined);
    }
    return this.pending;
  }

  /** Resolves once every append asked for so far was written (or failed). */
  flushed(): Promise<void> {
    return this.writing;
  }

  private async writeQueued(): Promise<void> {
    const { queued: rows, outcomes, errors } = this;
    this.queued = [];
    this.outcomes = [];
    this.errors = [];
    this.pending = null;
    const at = `,"at":"${new Date().toISOString()}"}\n`;
    const lines = new Array<string>(rows.length);
    let sheet: string | undefined;
    let start = '';
    for (let n = 0; n < rows.length; n++) {
      const row = rows[n] as LedgerRow;
      if (row.sheet !== sheet) {
        sheet = row.sheet;
        start = `{"sheet":${JSON.stringify(sheet)},"row":`;
      }
      lines[n] = ledgerLine(start, row, outcomes[n] as LedgerOutcome, errors[n], at);
    }
    try {
      await appendFileCreatingFolders(this.path, lines.join(''));
    } catch (error) {
      this.error = error;
      throw error;
    }
    this.error = undefined;
    for (let n = 0; n < rows.length; n++) {
      this.record(rows[n] as LedgerRow, outcomes[n] as LedgerOutcome);
    }
  }

  private record({ sheet, row, hash }: LedgerRow, outcome: LedgerOutcome): void {
    let rows = this.done.get(sheet);
    if (rows === undefined) this.done.set(sheet, (rows = new Map<number, string>()));
    if (outcome === 'release') {
      if (rows.get(row) === hash) rows.delete(row);
    } else {
      rows.set(row, hash);
    }
  }
}

/**
 * The settlement's line as `JSON.stringify({ sheet, row, hash, outcome, id, error?, at })` writes
 * it (the format every ledger has): `start` is its beginning up to the row number
 * (`{"sheet":"<sheet>","row":`), `at` its end (`,"at":"<ISO time>"}` and the newline).
 */
function ledgerLine(
  start: string,
  { row, hash, id }: LedgerRow,
  outcome: LedgerOutcome,
  error: string | undefined,
  at: string,
): string {
  const failure = error === undefined ? '' : ',"error":' + JSON.stringify(error);
  return (
    start +
    String(row) +
    ',"hash":"' +
    hash +
    '","outcome":"' +
    outcome +
    '","id":' +
    JSON.stringify(id) +
    failure +
    at
  );
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
