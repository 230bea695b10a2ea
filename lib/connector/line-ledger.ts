/** A line handed out by a file connector, until everything before it is settled too. */
interface LedgerEntry {
  readonly line: number;
  /** Byte offset just past this line's newline. */
  readonly end: number;
  settled: boolean;
}

/**
 * Tracks which lines of a file were handed out and settled, and the watermark: the last line
 * such that it and every line before it are settled. A restart resumes just after the
 * watermark, so at worst lines settled out of order are read again (at-least-once), never
 * skipped.
 */
export class LineLedger {
  private readonly entries: LedgerEntry[] = [];
  private head = 0;
  private readonly byLine = new Map<number, LedgerEntry>();

  constructor(
    /** Watermark line (0 = none). */
    public line: number,
    /** Byte offset just past the watermark line. */
    public offset: number,
  ) {}

  handOut(line: number, end: number): void {
    const entry = { line, end, settled: false };
    this.entries.push(entry);
    this.byLine.set(line, entry);
  }

  /** Marks a line settled; `true` when the watermark moved. */
  settle(line: number): boolean {
    const entry = this.byLine.get(line);
    if (entry === undefined || entry.settled) return false;
    entry.settled = true;
    this.byLine.delete(line);
    let moved = false;
    while (this.head < this.entries.length && (this.entries[this.head] as LedgerEntry).settled) {
      const done = this.entries[this.head++] as LedgerEntry;
      this.line = done.line;
      this.offset = done.end;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** Whether the line was handed out and is not settled yet. */
  outstanding(line: number): boolean {
    return this.byLine.has(line);
  }

  get unsettled(): number {
    return this.byLine.size;
  }
}
