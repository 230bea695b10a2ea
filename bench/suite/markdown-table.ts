/** A table for BENCHMARKS.md and the console; prettier aligns it when the file is written. */
export interface MarkdownTable {
  readonly headers: readonly string[];
  /** Per column; numbers are right-aligned. */
  readonly align: readonly ('left' | 'right')[];
  readonly rows: readonly (readonly string[])[];
}

const escape = (cell: string): string => cell.replaceAll('|', '\\|');

/** The table as GitHub-flavoured markdown lines; throws when a row or `align` does not fit. */
export function renderTable(table: MarkdownTable): string {
  const width = table.headers.length;
  if (table.align.length !== width || table.rows.some((row) => row.length !== width)) {
    throw new Error(
      `a row or the alignment of table "${table.headers.join(' | ')}" has the wrong width`,
    );
  }
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const rule = table.align.map((align) => (align === 'right' ? '--:' : '---'));
  return [line(table.headers), `|${rule.join('|')}|`, ...table.rows.map(line)].join('\n');
}
