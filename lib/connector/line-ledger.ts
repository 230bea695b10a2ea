/** A line handed out by a file connector, until everything before it is settled too. */
interface LedgerEntry {
  readonly line: number;
  /** Byte offset just past this line's newline. */
  readonly end: number;
  /** `out`: handed out and unsettled; `released`: waiting to be handed out again. */
  state: 'out' | 'released' | 'settled';
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
    const entry: LedgerEntry = { line, end, state: 'out' };
    this.entries.push(entry);
    this.byLine.set(line, entry);
  }

  /** A released line goes out again. */
  handOutAgain(line: number): void {
    const entry = this.byLine.get(line);
    if (entry !== undefined && entry.state === 'released') entry.state = 'out';
  }

  /** A handed-out line comes back to be handed out again; `false` when it was not out. */
  release(line: number): boolean {
    const entry = this.byLine.get(line);
    if (entry === undefined || entry.state !== 'out') return false;
    entry.state = 'released';
    return true;
  }

  /** Marks a handed-out line settled; `true` when the watermark moved. */
  settle(line: number): boolean {
    const entry = this.byLine.get(line);
    if (entry === undefined || entry.state !== 'out') return false;
    entry.state = 'settled';
    this.byLine.delete(line);
    let moved = false;
    while (
      this.head < this.entries.length &&
      (this.entries[this.head] as LedgerEntry).state === 'settled'
    ) {
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

  /** Whether the line is handed out right now (not settled, not waiting to go out again). */
  outstanding(line: number): boolean {
    return this.byLine.get(line)?.state === 'out';
  }

  get unsettled(): number {
    return this.byLine.size;
  }
}
