import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import ExcelJS from 'exceljs';
import { ExcelWorkbookError } from '../errors.js';
import { columnLetters, plainCell, UnreadableCell } from './cell-values.js';

/** A value as written to a cell: objects and arrays as JSON text. */
function cellValue(value: unknown): ExcelJS.CellValue {
  if (value === undefined || value === null) return null;
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value instanceof Date
  ) {
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/** Whether Excel has the workbook open: it keeps an owner file `~$name` beside it. */
async function openInExcel(path: string): Promise<boolean> {
  try {
    await access(join(dirname(path), `~$${basename(path)}`));
    return true;
  } catch {
    return false;
  }
}

/**
 * Appends rows to a sheet of a workbook (created, with its sheet, when missing). The header
 * row keeps its order; a key no column has yet becomes a new column at the end. The workbook
 * is written to a temporary file beside it and renamed over it, so a reader (or a crash)
 * sees the old workbook or the new one, never half of one. Refuses to rewrite a workbook
 * open in Excel, or one that changed while it was being rewritten (a writer's changes would
 * be lost).
 */
export async function appendRows(
  path: string,
  sheetName: string,
  headerRow: number,
  rows: readonly Readonly<Record<string, unknown>>[],
): Promise<void> {
  if (await openInExcel(path)) {
    throw new ExcelWorkbookError(
      path,
      `${path} is open in Excel (~$${basename(path)} exists beside it): close it there, then the rows are appended ` +
        '(rewriting it now would lose what is typed into it)',
    );
  }
  const workbook = new ExcelJS.Workbook();
  let before: { size: number; mtimeMs: number } | null = null;
  try {
    before = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (before !== null) {
    try {
      await workbook.xlsx.readFile(path);
    } catch (error) {
      throw new ExcelWorkbookError(
        path,
        `${path} cannot be read as an .xlsx workbook (${(error as Error).message}), so rows cannot be appended to it: ` +
          'point the connector at an Excel 2007+ workbook, or move this file away to start a new one',
        {},
        { cause: error },
      );
    }
  }
  const sheet = workbook.getWorksheet(sheetName) ?? workbook.addWorksheet(sheetName);
  const header = sheet.getRow(headerRow);
  const columns = new Map<string, number>();
  let last = 0;
  header.eachCell((cell, column) => {
    const read = plainCell(cell.value);
    if (read !== null && !(read instanceof UnreadableCell)) {
      columns.set(String(read).trim(), column);
      last = Math.max(last, column);
    }
  });
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (columns.has(key)) continue;
      columns.set(key, ++last);
      header.getCell(last).value = key;
    }
  }
  header.commit();
  let next = Math.max(sheet.rowCount, headerRow) + 1;
  for (const row of rows) {
    const target = sheet.getRow(next++);
    for (const [key, value] of Object.entries(row)) {
      target.getCell(columns.get(key) as number).value = cellValue(value);
    }
    target.commit();
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(dirname(path), { recursive: true });
  try {
    await workbook.xlsx.writeFile(temporary);
    const now = await stat(path).catch(() => null);
    if (
      (before === null && now !== null) ||
      (before !== null &&
        (now === null || now.size !== before.size || now.mtimeMs !== before.mtimeMs))
    ) {
      throw new ExcelWorkbookError(
        path,
        `${path} changed while rows were appended to it (another writer): nothing was written; try again`,
        { sheet: sheetName, cell: `${columnLetters(1)}${headerRow}` },
      );
    }
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
