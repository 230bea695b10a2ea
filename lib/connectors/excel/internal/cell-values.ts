import type { CellValue } from 'exceljs';

/** A cell as a transaction carries it: empty cells are `null`, dates are `Date`s. */
export type ExcelCell = string | number | boolean | Date | null;

/** The column letters of a 1-based column number: 1 → `A`, 27 → `AA`. */
export function columnLetters(column: number): string {
  let letters = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

/** Why a cell has no plain value (see {@link plainCell}). */
export class UnreadableCell {
  constructor(readonly reason: string) {}
}

/**
 * The plain value of a cell as exceljs reads it: a formula's cached result, rich text's text,
 * a hyperlink's text; `undefined`/empty → `null`. A cell holding an error (`#DIV/0!`, `#N/A`)
 * or a formula never calculated has no value: an {@link UnreadableCell} says why. (Plain
 * values, nearly every cell, are returned as they are: nothing is allocated for them.)
 */
export function plainCell(value: CellValue): ExcelCell | UnreadableCell {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value;
  if ('error' in value) return new UnreadableCell(`holds the error ${value.error}`);
  if ('richText' in value) return value.richText.map((run) => run.text).join('');
  if ('formula' in value || 'sharedFormula' in value) {
    const result: unknown = value.result;
    if (result === undefined) {
      return new UnreadableCell(
        'is a formula without a calculated value (open and save it in Excel)',
      );
    }
    return plainCell(result as CellValue);
  }
  if ('hyperlink' in value) return (value as { text?: unknown }).text?.toString() ?? null;
  return new UnreadableCell(`holds a value of an unknown kind (${JSON.stringify(value)})`);
}
