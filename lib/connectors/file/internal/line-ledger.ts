import type { FilePosition } from '../file-cursor.js';

/** A line handed out by a file connector, until it and everything before it are settled. */
export interface LedgerEntry {
  /** Where reading resumes once this entry and every one before it are settled. */
  readonly resume: FilePosition;
  /**
   * `out`: handed out, unsettled; `released`: waiting to be handed out again; `settling`: its
   * settlement is being made durable (a dead-letter write), or failed to be; `settled`: done.
   */
  state: 'out' | 'released' | 'settling' | 'settled';
}

/**
 * Tracks the lines a file connector handed out, in file order, and the watermark: the
 * position after the last entry such that it and every entry before it are settled. A
 * restart resumes at the watermark, so at worst lines settled out of order are read again
 * (at-least-once), never skipped; an entry whose settlement never became durable holds the
 * watermark for the rest of the run.
 */
export class LineLedger {
  private readonly entries: LedgerEntry[] = [];
  private head = 0;

  constructor(
    /** The watermark. */
    public watermark: FilePosition,
  ) {}

  /** Records a line handed out (after every line handed out before it). */
  handOut(resume: FilePosition): LedgerEntry {
    const entry: LedgerEntry = { resume, state: 'out' };
    this.entries.push(entry);
    return entry;
  }

  /** A released entry goes out again. */
  handOutAgain(entry: LedgerEntry): void {
    if (entry.state === 'released') entry.state = 'out';
  }

  /** A handed-out entry comes back, to be handed out again. */
  release(entry: LedgerEntry): void {
    if (entry.state === 'out') entry.state = 'released';
  }

  /** A handed-out entry's settlement started; the watermark waits for {@link settle}. */
  settling(entry: LedgerEntry): void {
    if (entry.state === 'out') entry.state = 'settling';
  }

  /** Marks an entry settled; `true` when the watermark moved. */
  settle(entry: LedgerEntry): boolean {
    if (entry.state !== 'out' && entry.state !== 'settling') return false;
    entry.state = 'settled';
    let moved = false;
    while (
      this.head < this.entries.length &&
      (this.entries[this.head] as LedgerEntry).state === 'settled'
    ) {
      this.watermark = (this.entries[this.head++] as LedgerEntry).resume;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** Whether the entry is handed out right now (not settled, not waiting to go out again). */
  outstanding(entry: LedgerEntry): boolean {
    return entry.state === 'out';
  }
}
