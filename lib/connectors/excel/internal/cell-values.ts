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

/**
 * The plain value of a cell as exceljs reads it: a formula's cached result, rich text's text,
 * a hyperlink's text; `undefined`/empty → `null`. A cell holding an error (`#DIV/0!`, `#N/A`)
 * or a formula never calculated has no value: `{ error }` says why.
 */
export function plainCell(value: CellValue): { value: ExcelCell } | { error: string } {
  if (value === undefined || value === null) return { value: null };
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value instanceof Date
  ) {
    return { value: value === '' ? null : value };
  }
  if ('error' in value) return { error: `holds the error ${value.error}` };
  if ('richText' in value) {
    return { value: value.richText.map((run) => run.text).join('') };
  }
  if ('formula' in value || 'sharedFormula' in value) {
    const result: unknown = value.result;
    if (result === undefined) {
      return { error: 'is a formula without a calculated value (open and save it in Excel)' };
    }
    return plainCell(result as CellValue);
  }
  if ('hyperlink' in value)
    return { value: (value as { text?: unknown }).text?.toString() ?? null };
  return { error: `holds a value of an unknown kind (${JSON.stringify(value)})` };
}
