import { ErgonError } from '../../core/errors.js';

/**
 * A workbook cannot be used as asked: it is missing or corrupt (not an `.xlsx` zip), its sheet
 * does not exist, its header row has an empty or duplicate name, it was written in place while
 * being read, or it is open in Excel while the connector would rewrite it. `file`, `sheet` and
 * `cell` say where; the message says what to do.
 */
export class ExcelWorkbookError extends ErgonError {
  constructor(
    /** The workbook's path. */
    readonly file: string,
    message: string,
    /** Where in it, when the problem is in one place. */
    readonly where: { readonly sheet?: string; readonly cell?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The side ledger that records which rows were settled is corrupt (a line in its middle is
 * not a ledger entry). The message names the ledger, the line and what to do.
 */
export class ExcelLedgerError extends ErgonError {
  constructor(
    /** The ledger's path. */
    readonly ledger: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
