/** A table for BENCHMARKS.md and the console; prettier aligns it when the file is written. */
export interface MarkdownTable {
  readonly headers: readonly string[];
  /** Per column; numbers are right-aligned. */
  readonly align: readonly ('left' | 'right')[];
  readonly rows: readonly (readonly string[])[];
}

const escape = (cell: string): string => cell.replaceAll('|', '\\|');

/** The table as GitHub-flavoured markdown lines. */
export function renderTable(table: MarkdownTable): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const rule = table.align.map((align) => (align === 'right' ? '--:' : '---'));
  return [line(table.headers), `|${rule.join('|')}|`, ...table.rows.map(line)].join('\n');
}
