import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { defer, Observable, of } from 'rxjs';
import type {
  Connector,
  ConnectorHealth,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { ConnectorClosedError, SettlementError } from '../../core/errors.js';
import { takeDelivery } from '../../core/settle-once.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import type { SettleDecision } from '../../core/outcome.js';
import { PayloadDecodeError } from '../../core/payload-codec.js';
import { describeError } from '../../core/renderers.js';
import {
  createTransaction,
  markUndecodable,
  type Transaction,
  type TransactionInit,
} from '../../core/transaction.js';
import { noop } from '../../core/waiting.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { ExcelWorkbookError } from './errors.js';
import type { ExcelCell } from './internal/cell-values.js';
import { RowLedger, type LedgerOutcome, type LedgerRow } from './internal/row-ledger.js';
import { RowVersions } from './internal/row-versions.js';
import { SheetRows, type SheetRow } from './internal/sheet-rows.js';
import { appendRows } from './internal/workbook-append.js';

/** A data row as the default payload: its cells by column name (empty cells `null`). */
export type ExcelRow = Readonly<Record<string, ExcelCell>>;

/** The metadata of a transaction read from a workbook. */
export type ExcelRowMetadata = {
  readonly file: string;
  readonly sheet: string;
  /** The row number as Excel shows it. */
  readonly row: number;
};

/** Options of an {@link ExcelConnector}. */
export interface ExcelConnectorOptions<P> {
  /** The `.xlsx` workbook: read by `fetch`, appended to by `dispatch`. */
  readonly path: string;
  /** The sheet's name (default: the first sheet; `dispatch` creates `Sheet1` in a new workbook). */
  readonly sheet?: string;
  /** The row holding the column names (default 1); data rows are the rows below it. */
  readonly headerRow?: number;
  /**
   * The side ledger recording each settlement (default `<path>.ledger.jsonl`): the workbook
   * itself is never written by `fetch` or `settle`.
   */
  readonly ledgerPath?: string;
  /** A column whose value is the transaction id (default: `<file>:<sheet>!<row>`). */
  readonly idColumn?: string;
  /** Turns a row's cells into the payload; throwing marks the transaction undecodable. */
  readonly parse?: (row: ExcelRow, metadata: ExcelRowMetadata) => P;
}

/** A row read from the sheet, as a transaction (and as the ledger names it). */
interface RowEntry<P> extends LedgerRow {
  readonly transaction: Transaction<P>;
}

/**
 * The rows of an Excel sheet as transactions. `fetch` streams the workbook (exceljs
 * `WorkbookReader`: a large file is never held whole) and hands out each data row below the
 * header row as a transaction whose payload has a field per column name, with typed cells:
 * numbers, strings, booleans, dates as `Date`, a formula's calculated value, rich text as its
 * text, empty cells as `null`. A row with a cell holding an error (`#DIV/0!`), or a value in
 * a column without a name, becomes an undecodable transaction (the exception handler gets a
 * `TransactionError` with stage `decode` naming the cell), never a crash.
 *
 * Progress is kept in a side ledger (`<path>.ledger.jsonl`, appended to, never rewritten):
 * `ack` and `deadLetter` (with the error) record the row and its content hash, so the next
 * run skips it; `release` records the release and hands the row out again. The workbook is
 * never rewritten by reading or settling: it may be open in Excel meanwhile. A row edited
 * after it was settled is processed again. When the workbook is replaced (saved again), the
 * next fetch reads it anew and hands out its new or changed rows.
 *
 * `dispatch` appends each batch as rows (header order kept, new keys as new columns at the
 * end) by writing a new workbook beside it and renaming it over the old one.
 *
 * @example
 * ```ts
 * const orders = new ExcelConnector({ path: 'orders.xlsx', sheet: 'Orders' });
 * consume(orders, consumerTask({ process: (tx) => ship(tx.payload['Order'], tx.payload['Quantity']) }))
 *   .subscribe();
 * ```
 */
export class ExcelConnector<P = ExcelRow> implements Connector<P> {
  readonly system = 'excel';
  readonly destination: string;
  private readonly name: string;
  private readonly headerRow: number;
  private readonly ledger: RowLedger;
  private ledgerLoaded: Promise<void> | null = null;
  private rows: SheetRows | null = null;
  /** The file last read to its end, to tell whether it was replaced since. */
  private readTo: { ino: number; size: number; mtimeMs: number } | null = null;
  /** The rows handed out and not settled (nor being dead-lettered), by their transaction. */
  private readonly held = new Map<Transaction<P>, RowEntry<P>>();
  /** The rows handed out this run and not settled (never handed out twice). */
  private readonly outstanding = new RowVersions();
  private readonly redelivery = new FifoQueue<RowEntry<P>>();
  private readonly readAhead = new FifoQueue<RowEntry<P>>();
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: ExcelConnectorOptions<P>) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('ExcelConnector needs a path to an .xlsx workbook');
    }
    const headerRow = options.headerRow ?? 1;
    if (!Number.isSafeInteger(headerRow) || headerRow < 1) {
      throw new TypeError(
        `ExcelConnector headerRow must be a row number (1 or more), got ${String(headerRow)}`,
      );
    }
    this.headerRow = headerRow;
    this.name = basename(options.path);
    this.destination = this.name;
    this.ledger = new RowLedger(options.ledgerPath ?? `${options.path}.ledger.jsonl`);
  }

  /**
   * Hands out up to `request.size` rows: released ones first, then the next rows not settled
   * yet. Completes empty at the end of the sheet (and reads the workbook again once it was
   * replaced). Unsubscribing before a row was emitted leaves it for the next fetch.
   *
   * @throws ExcelWorkbookError (errors the fetch) when the workbook is corrupt, the sheet is
   *   missing, the header row has an empty or duplicate name, or the file was written in place
   *   while being read.
   * @throws ExcelLedgerError when the ledger is corrupt.
   */
  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      this.serially(async () => {
        if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
        this.ledgerLoaded ??= this.ledger.load();
        await this.ledgerLoaded;
        await this.fill(request.size, () => subscriber.closed);
        let again = Math.min(request.size, this.redelivery.length);
        for (let emitted = 0; emitted < request.size && !subscriber.closed; emitted++) {
          let entry: RowEntry<P> | undefined;
          if (again > 0) {
            again--;
            entry = this.redelivery.shift();
          } else {
            entry = this.readAhead.shift();
          }
          if (entry === undefined) return;
          this.held.set(entry.transaction, entry);
          subscriber.next(entry.transaction);
        }
      }).then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
    });
  }

  /**
   * Records the settlement in the ledger. `ack` and `release` return at once (the line is
   * written in the background; one lost to a crash means the row is processed again, never
   * lost); `deadLetter` resolves once its line, with the error's message, is written.
   * `release` hands the row out again.
   *
   * @throws SettlementError for a transaction settled twice or not fetched from this connector,
   *   or (rejects) when a dead letter's line could not be written (the row is processed again).
   */
  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> | void {
    const entry = takeDelivery(this.held, transaction);
    if (entry === undefined) {
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from ${this.name}`,
      );
    }
    if (decision.type !== 'deadLetter') {
      // Recorded in the background: a line lost to a crash means the row is processed again
      // (at-least-once), never lost; close() waits for the writes, health() reports a failing one.
      void this.record(entry, decision.type);
      if (decision.type === 'release') this.redelivery.push(entry);
      else this.outstanding.delete(entry.row, entry.hash);
      return;
    }
    return this.record(entry, 'deadLetter', decision.error.message).then(
      () => {
        this.outstanding.delete(entry.row, entry.hash);
      },
      (problem: unknown) => {
        this.held.set(transaction, entry);
        throw new SettlementError(
          `${transaction.id} could not be dead-lettered in the ledger ${this.ledger.path} (${describeError(problem)}); ` +
            'it stays unsettled: the next run processes it again',
          { cause: problem },
        );
      },
    );
  }

  /**
   * Appends the batch's payloads as rows of the sheet: each payload a plain object of column
   * name → value (dates, numbers, strings, booleans; anything else as JSON text). Keys without
   * a column get one at the end of the header row. One rewrite per batch, atomic (temporary
   * file + rename); a workbook open in Excel is refused with an {@link ExcelWorkbookError}.
   */
  dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    return this.serially(async () => {
      context?.signal.throwIfAborted();
      if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
      const failed: DispatchFailure<P>[] = [];
      const rows: Readonly<Record<string, unknown>>[] = [];
      for (const transaction of transactions) {
        const payload: unknown = transaction.payload;
        if (isPlainObject(payload)) rows.push(payload);
        else {
          failed.push({
            transaction,
            error: new PayloadDecodeError(
              `${transaction.id}: a row is a plain object of column name → value, got ${typeof payload}`,
            ),
          });
        }
      }
      if (rows.length > 0) {
        await appendRows(this.options.path, this.options.sheet ?? 'Sheet1', this.headerRow, rows);
      }
      return { failed };
    });
  }

  /** `ledger-failing` while the last ledger write failed (settled rows would be processed again). */
  health(): Observable<ConnectorHealth> {
    return defer(() => {
      const problem = this.ledger.error;
      if (problem !== undefined) {
        return of<ConnectorHealth>({
          healthy: false,
          state: 'ledger-failing',
          detail: `the ledger ${this.ledger.path} cannot be appended to: ${describeError(problem)}`,
        });
      }
      return of<ConnectorHealth>({ healthy: !this.closed, state: this.closed ? 'closed' : 'open' });
    });
  }

  /** Waits for ledger writes and closes the workbook; unsettled rows are read again next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exclusive.catch(noop);
    await this.ledger.flushed();
    await this.rows?.close();
    this.rows = null;
  }

  private record(entry: RowEntry<P>, outcome: LedgerOutcome, error?: string): Promise<void> {
    return this.ledger.append(entry, outcome, error);
  }

  /** Runs `work` after every earlier read or append finished. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.exclusive.then(work, work);
    this.exclusive = result.catch(noop);
    return result;
  }

  /** Reads rows until `size` wait to be handed out, the sheet ends or the fetch is cancelled. */
  private async fill(size: number, cancelled: () => boolean): Promise<void> {
    while (this.redelivery.length + this.readAhead.length < size && !cancelled()) {
      const rows = this.rows ?? (await this.reopen());
      if (rows === undefined) return;
      let row: SheetRow | undefined;
      try {
        row = rows.read() ?? (await rows.next());
      } catch (error) {
        // The next fetch opens the workbook again and reads it from the start (rows handed
        // out already, or done, are skipped), so a failed read never ends the sheet early.
        this.rows = null;
        await rows.close().catch(noop);
        throw error;
      }
      if (row === undefined) {
        this.rows = null;
        const inPlace = await rows.changedInPlace();
        await rows.close();
        if (inPlace) {
          this.readTo = null;
          throw new ExcelWorkbookError(
            this.options.path,
            `${this.options.path} was written in place while it was read, so the rows read may mix two versions: ` +
              'save it with a program that replaces the file (Excel does), or copy it in atomically; ' +
              'the next fetch reads it again (rows settled with the same content are skipped)',
            { sheet: rows.sheetName },
          );
        }
        const { ino, size: bytes, mtimeMs } = rows.opened;
        this.readTo = { ino, size: bytes, mtimeMs };
        return;
      }
      if (
        this.outstanding.has(row.number, row.hash) ||
        this.ledger.isDone(rows.sheetName, row.number, row.hash)
      ) {
        continue;
      }
      this.outstanding.add(row.number, row.hash);
      const transaction = this.rowTransaction(row, rows.sheetName);
      this.readAhead.push({
        transaction,
        sheet: rows.sheetName,
        row: row.number,
        hash: row.hash,
        id: transaction.id,
      });
    }
  }

  /** Opens the workbook, unless it was read to its end and has not been replaced since. */
  private async reopen(): Promise<SheetRows | undefined> {
    const { path } = this.options;
    if (this.readTo !== null) {
      const now = await stat(path).catch(() => null);
      if (
        now === null ||
        (now.ino === this.readTo.ino &&
          now.size === this.readTo.size &&
          now.mtimeMs === this.readTo.mtimeMs)
      ) {
        return undefined;
      }
    }
    const rows = await SheetRows.open(path, {
      sheet: this.options.sheet ?? null,
      headerRow: this.headerRow,
    });
    if (rows === undefined) {
      throw new ExcelWorkbookError(
        path,
        `${path} does not exist: check the path (dispatch creates the workbook; fetch needs one)`,
      );
    }
    this.rows = rows;
    return rows;
  }

  private rowTransaction(row: SheetRow, sheet: string): Transaction<P> {
    const metadata: ExcelRowMetadata = { file: this.options.path, sheet, row: row.number };
    const { idColumn, parse } = this.options;
    const idCell = idColumn === undefined ? undefined : row.cells[idColumn];
    const init = {
      id:
        idCell === undefined || idCell === null
          ? `${this.name}:${sheet}!${row.number}`
          : idCell instanceof Date
            ? idCell.toISOString()
            : String(idCell),
      metadata,
    };
    if (row.problem !== undefined) {
      return undecodable(row, init, `row ${row.number}: ${row.problem}`);
    }
    if (idColumn !== undefined && (idCell === undefined || idCell === null)) {
      return undecodable(
        row,
        init,
        `row ${row.number} of sheet ${JSON.stringify(sheet)} in ${this.name} has no ${JSON.stringify(idColumn)} (the idColumn)`,
      );
    }
    if (parse === undefined) return createTransaction(row.cells as P, init);
    try {
      return createTransaction(parse(row.cells, metadata), init);
    } catch (error) {
      return undecodable(
        row,
        init,
        `row ${row.number} of sheet ${JSON.stringify(sheet)} in ${this.name} is not valid: ${describeError(error)}`,
        error,
      );
    }
  }
}

/** The row as an undecodable transaction (its payload the cells), failing with `message`. */
function undecodable<P>(
  row: SheetRow,
  init: TransactionInit,
  message: string,
  cause?: unknown,
): Transaction<P> {
  return markUndecodable(
    createTransaction(row.cells as P, init),
    new PayloadDecodeError(message, cause === undefined ? undefined : { cause }),
  );
}
