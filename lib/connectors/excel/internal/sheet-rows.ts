import { hash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import ExcelJS from 'exceljs';
import { ExcelWorkbookError } from '../errors.js';
import { columnLetters, type ExcelCell, plainCell, UnreadableCell } from './cell-values.js';

/** A data row of the sheet: its cells by header, or why it cannot be read. */
export interface SheetRow {
  /** The row number in the sheet (1-based, as Excel shows it). */
  readonly number: number;
  readonly cells: Readonly<Record<string, ExcelCell>>;
  /** SHA-256 of the row's cells: what the ledger recognises it by. */
  readonly hash: string;
  /** Why the row cannot be decoded (a cell holding an error, a value without a header). */
  readonly problem?: string;
}

/** How the rows of a sheet are read: which sheet, and where its header is. */
export interface SheetSelection {
  /** The sheet's name; `null`: the first sheet. */
  readonly sheet: string | null;
  /** The row holding the column names (1-based). */
  readonly headerRow: number;
}

interface StreamedRow {
  readonly number: number;
  readonly values: unknown;
}

/** What exceljs' `WorksheetReader.parse()` yields: the events of one chunk of the sheet. */
type SheetEvents = readonly { readonly eventType: string; readonly value: unknown }[];

/**
 * Reads the data rows of one sheet, streaming (exceljs `WorkbookReader`): the workbook is read
 * through one open file handle, so a writer that replaces the file (Excel, LibreOffice and
 * the connector's own dispatch save to a new file and rename it) does not disturb the read;
 * {@link SheetRows.changedInPlace} tells whether someone wrote into the file itself meanwhile.
 */
export class SheetRows {
  /** The sheet's name (known once the first row was asked for). */
  sheetName = '';
  private headers: (string | null)[] = [];
  /** The sheet's events, a chunk of the file at a time (`null` until the sheet was found). */
  private chunks: AsyncIterator<SheetEvents> | null = null;
  private sheets: AsyncIterator<ExcelJS.stream.xlsx.WorksheetReader> | null = null;
  /** The events of the chunk being read, and the next one to look at. */
  private events: SheetEvents = [];
  private event = 0;
  private done = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** The file as it was when opened. */
    readonly opened: Stats,
    private readonly selection: SheetSelection,
  ) {}

  /** Opens the workbook; `undefined` when the file does not exist. */
  static async open(path: string, selection: SheetSelection): Promise<SheetRows | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return new SheetRows(path, handle, await handle.stat(), selection);
  }

  /**
   * The next data row of the part of the file read already; `undefined` when that part has no
   * more (then {@link next} reads on). Reads nothing: rows come from it without a wait.
   */
  read(): SheetRow | undefined {
    while (this.event < this.events.length) {
      const { eventType, value } = this.events[this.event++] as SheetEvents[number];
      if (eventType !== 'row') continue;
      const row = this.dataRow(value as StreamedRow);
      if (row !== undefined) return row;
    }
    return undefined;
  }

  /** The next data row, `undefined` after the last one. */
  async next(): Promise<SheetRow | undefined> {
    try {
      for (;;) {
        const row = this.read();
        if (row !== undefined || this.done) return row;
        if (this.chunks === null) {
          this.chunks = await this.findSheet();
          continue;
        }
        const chunk = await this.chunks.next();
        if (chunk.done === true) {
          this.done = true;
          return undefined;
        }
        this.events = chunk.value;
        this.event = 0;
      }
    } catch (error) {
      this.done = true;
      this.events = [];
      if (error instanceof ExcelWorkbookError) throw error;
      throw new ExcelWorkbookError(
        this.path,
        `${this.path} cannot be read as an .xlsx workbook (${(error as Error).message}): ` +
          'check it is an Excel 2007+ workbook (not .xls or .csv) and not truncated, and save it again',
        this.sheetName === '' ? {} : { sheet: this.sheetName },
        { cause: error },
      );
    }
  }

  /** Whether the file was written into (not replaced) since it was opened. */
  async changedInPlace(): Promise<boolean> {
    const now = await this.handle.stat();
    return now.size !== this.opened.size || now.mtimeMs !== this.opened.mtimeMs;
  }

  async close(): Promise<void> {
    this.done = true;
    this.events = [];
    await this.chunks?.return?.();
    await this.sheets?.return?.();
    await this.handle.close();
  }

  /**
   * Skips the sheets before the one asked for, reads its header row and gives its events from
   * there (the rows in the header row's chunk after it are left in {@link events}).
   */
  private async findSheet(): Promise<AsyncIterator<SheetEvents>> {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(
      this.handle.createReadStream({ start: 0, autoClose: false }),
      { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore' },
    );
    this.sheets = reader[Symbol.asyncIterator]();
    const seen: string[] = [];
    for (;;) {
      const next = await this.sheets.next();
      if (next.done === true) break;
      const name = (next.value as unknown as { name?: string }).name ?? `sheet ${seen.length + 1}`;
      const chunks = next.value.parse() as AsyncIterator<SheetEvents>;
      if (this.selection.sheet === null || this.selection.sheet === name) {
        this.sheetName = name;
        await this.readHeader(chunks);
        return chunks;
      }
      seen.push(name);
      // Not the sheet: read through it (the zip is one stream) and go on.
      while ((await chunks.next()).done !== true);
    }
    throw new ExcelWorkbookError(
      this.path,
      seen.length === 0
        ? `${this.path} has no sheet: add one with a header row`
        : `${this.path} has no sheet ${JSON.stringify(this.selection.sheet)}: its sheets are ${seen.map((s) => JSON.stringify(s)).join(', ')}; fix the sheet option`,
      this.selection.sheet === null ? {} : { sheet: this.selection.sheet },
    );
  }

  /** The next row of the sheet (with nothing done to it), `undefined` after the last. */
  private async nextStreamed(chunks: AsyncIterator<SheetEvents>): Promise<StreamedRow | undefined> {
    for (;;) {
      while (this.event < this.events.length) {
        const { eventType, value } = this.events[this.event++] as SheetEvents[number];
        if (eventType === 'row') return value as StreamedRow;
      }
      const chunk = await chunks.next();
      if (chunk.done === true) return undefined;
      this.events = chunk.value;
      this.event = 0;
    }
  }

  /** Reads the header row: every name non-empty (between the first and last) and unique. */
  private async readHeader(chunks: AsyncIterator<SheetEvents>): Promise<void> {
    const { headerRow } = this.selection;
    let header: StreamedRow | undefined;
    while (header === undefined) {
      const next = await this.nextStreamed(chunks);
      if (next === undefined || next.number > headerRow) {
        throw new ExcelWorkbookError(
          this.path,
          `row ${headerRow} of sheet ${JSON.stringify(this.sheetName)} in ${this.path} is empty: ` +
            'it should hold the column names (or set headerRow to the row that does)',
          { sheet: this.sheetName, cell: `A${headerRow}` },
        );
      }
      if (next.number === headerRow) header = next;
    }
    const values = valuesOf(header.values);
    const names: (string | null)[] = [null];
    const columns = new Map<string, string>();
    let last = 0;
    for (let column = 1; column < values.length; column++) {
      const read = plainCell(values[column] as ExcelJS.CellValue);
      const name = read === null || read instanceof UnreadableCell ? '' : cellText(read).trim();
      names.push(name === '' ? null : name);
      if (name !== '') last = column;
    }
    for (let column = 1; column <= last; column++) {
      const name = names[column];
      const cell = `${columnLetters(column)}${headerRow}`;
      const where = { sheet: this.sheetName, cell };
      if (name === null || name === undefined) {
        throw new ExcelWorkbookError(
          this.path,
          `the header cell ${cell} of sheet ${JSON.stringify(this.sheetName)} in ${this.path} is empty: ` +
            'name the column (every column up to the last named one needs a name)',
          where,
        );
      }
      const first = columns.get(name);
      if (first !== undefined) {
        throw new ExcelWorkbookError(
          this.path,
          `the header cells ${first} and ${cell} of sheet ${JSON.stringify(this.sheetName)} in ${this.path} ` +
            `both name a column ${JSON.stringify(name)}: rename one (each field of a row needs its own name)`,
          where,
        );
      }
      columns.set(name, cell);
    }
    if (last === 0) {
      throw new ExcelWorkbookError(
        this.path,
        `row ${headerRow} of sheet ${JSON.stringify(this.sheetName)} in ${this.path} holds no column names: ` +
          'put them there (or set headerRow to the row that holds them)',
        { sheet: this.sheetName, cell: `A${headerRow}` },
      );
    }
    this.headers = names.slice(0, last + 1);
  }

  /** The data row of a streamed row; `undefined` for a row with nothing in it. */
  private dataRow(row: StreamedRow): SheetRow | undefined {
    const values = valuesOf(row.values);
    const cells: Record<string, ExcelCell> = {};
    let problems: string[] | undefined;
    let empty = true;
    let fingerprint = '';
    const columns = Math.max(values.length, this.headers.length);
    for (let column = 1; column < columns; column++) {
      const value = plainCell(values[column] as ExcelJS.CellValue);
      const header = this.headers[column];
      if (value instanceof UnreadableCell) {
        (problems ??= []).push(`cell ${columnLetters(column)}${row.number} ${value.reason}`);
        empty = false;
        continue;
      }
      fingerprint += cellFingerprint(value);
      if (value !== null) empty = false;
      if (header === undefined || header === null) {
        if (value !== null) {
          (problems ??= []).push(
            `cell ${columnLetters(column)}${row.number} holds a value but column ${columnLetters(column)} has no name in row ${this.selection.headerRow}`,
          );
        }
        continue;
      }
      cells[header] = value;
    }
    if (empty) return undefined;
    if (problems !== undefined) fingerprint += JSON.stringify(values.slice(1));
    // The ledger's row hash: SHA-256 (hex) of the fingerprint's UTF-8, as it always was.
    const digest = hash('sha256', fingerprint);
    if (problems === undefined) return { number: row.number, cells, hash: digest };
    const where = `sheet ${JSON.stringify(this.sheetName)} of ${this.path}`;
    return {
      number: row.number,
      cells,
      hash: digest,
      problem: `${problems.join('; ')} (${where})`,
    };
  }
}

/**
 * A cell's part of the row's fingerprint, as the ledger's hashes have always been made:
 * `\u0001`, then `d` and the time of a date, else the value's `typeof` and its text
 * (`\u0001objectnull` for an empty cell).
 */
function cellFingerprint(value: ExcelCell): string {
  switch (typeof value) {
    case 'string':
      return '\u0001string' + value;
    case 'number':
      return '\u0001number' + String(value);
    case 'boolean':
      return value ? '\u0001booleantrue' : '\u0001booleanfalse';
    default:
      return value === null ? '\u0001objectnull' : '\u0001d' + String(value.getTime());
  }
}

/** exceljs gives a row's values as a sparse array indexed by column (1-based). */
function valuesOf(values: unknown): unknown[] {
  return Array.isArray(values) ? values : [];
}

/** A header cell's text (a number or date used as a column name, too). */
function cellText(value: ExcelCell): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
