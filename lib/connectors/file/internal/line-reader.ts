import type { FileHandle } from 'node:fs/promises';

/** A complete line (one that ends with a newline) read by a {@link LineReader}. */
export interface FileLine {
  /** 1-based physical line number. */
  readonly number: number;
  /** File offset of its first byte (past the byte order mark on line 1). */
  readonly start: number;
  /** File offset just past its newline. */
  readonly end: number;
  /**
   * Its bytes without the newline; a view valid only until the next read. For a line longer
   * than `maxLineBytes`, its first bytes only.
   */
  readonly bytes: Buffer;
  /** Its length in bytes without the newline. */
  readonly length: number;
  /** Whether it is longer than `maxLineBytes` (its bytes were not kept). */
  readonly tooLong: boolean;
}

/** What follows the last complete line: bytes a writer may still be appending to. */
export interface LineFragment {
  readonly number: number;
  readonly start: number;
  /** Its bytes so far (the first ones only when it is already longer than `maxLineBytes`). */
  readonly bytes: Buffer;
  readonly length: number;
}

const readChunk = 64 * 1024;
/** How much of a too-long line is kept, to show what it was. */
const tooLongHead = 1024;
const byteOrderMark = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads the lines of a file from an offset, in time linear in the bytes read whatever the
 * line lengths: the unconsumed bytes sit in one buffer that doubles when a line outgrows it,
 * and each byte is scanned for a newline once. Only lines ending with a newline are complete;
 * the bytes after the last one stay buffered as a {@link LineFragment} until the file grows.
 * A line longer than `maxLineBytes` is not buffered: it is skipped up to its newline and
 * returned with `tooLong` and its first bytes. A UTF-8 byte order mark at offset 0 is skipped.
 */
export class LineReader {
  private buffer = Buffer.allocUnsafe(readChunk);
  /** First unconsumed byte in `buffer`. */
  private from = 0;
  /** End of the bytes read into `buffer`. */
  private to = 0;
  /** Bytes in `[from, scanned)` hold no newline. */
  private scanned = 0;
  /** File offset of `buffer[to]`. */
  private position: number;
  private nextNumber: number;
  /** Whether the reader is still at offset 0, before a possible byte order mark. */
  private atFileStart: boolean;
  /** A line over `maxLineBytes` being skipped: its start, length so far and first bytes. */
  private skipping: { start: number; length: number; head: Buffer } | null = null;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
    /** The number of the line that ends at `offset` (0 at the start of the file). */
    line: number,
    private readonly maxLineBytes: number,
  ) {
    this.position = offset;
    this.nextNumber = line + 1;
    this.atFileStart = offset === 0;
  }

  /** The next complete line, or `undefined` when the file has none beyond (yet). */
  async next(): Promise<FileLine | undefined> {
    for (;;) {
      const line = this.scan();
      if (line !== undefined) return line;
      if (!(await this.read())) return undefined;
    }
  }

  /** The bytes after the last complete line, as of the last read; `undefined` when none. */
  fragment(): LineFragment | undefined {
    const skipping = this.skipping;
    if (skipping !== null) {
      return {
        number: this.nextNumber,
        start: skipping.start,
        bytes: skipping.head,
        length: skipping.length + this.to - this.from,
      };
    }
    if (this.to === this.from) return undefined;
    return {
      number: this.nextNumber,
      start: this.offsetOf(this.from),
      bytes: this.buffer.subarray(this.from, this.to),
      length: this.to - this.from,
    };
  }

  private offsetOf(index: number): number {
    return this.position - (this.to - index);
  }

  /** The next complete line among the bytes read, if any. */
  private scan(): FileLine | undefined {
    if (this.atFileStart && !this.skipByteOrderMark()) return undefined;
    const newline =
      this.scanned < this.to ? this.buffer.subarray(this.scanned, this.to).indexOf(0x0a) : -1;
    if (newline < 0) {
      this.scanned = this.to;
      this.keepBounded();
      return undefined;
    }
    const at = this.scanned + newline;
    const start = this.offsetOf(this.from);
    const skipping = this.skipping;
    const number = this.nextNumber++;
    const end = this.offsetOf(at + 1);
    let line: FileLine;
    if (skipping !== null) {
      line = {
        number,
        start: skipping.start,
        end,
        bytes: skipping.head,
        length: skipping.length + at - this.from,
        tooLong: true,
      };
      this.skipping = null;
    } else if (at - this.from > this.maxLineBytes) {
      line = {
        number,
        start,
        end,
        bytes: Buffer.from(this.buffer.subarray(this.from, this.from + tooLongHead)),
        length: at - this.from,
        tooLong: true,
      };
    } else {
      line = {
        number,
        start,
        end,
        bytes: this.buffer.subarray(this.from, at),
        length: at - this.from,
        tooLong: false,
      };
    }
    this.from = this.scanned = at + 1;
    return line;
  }

  /**
   * Skips a byte order mark at offset 0; `false` while too few bytes were read to tell.
   */
  private skipByteOrderMark(): boolean {
    const available = this.to - this.from;
    const compared = Math.min(available, byteOrderMark.length);
    const prefix = this.buffer.subarray(this.from, this.from + compared);
    if (!prefix.equals(byteOrderMark.subarray(0, compared))) {
      this.atFileStart = false;
      return true;
    }
    if (compared < byteOrderMark.length) return false;
    this.from = this.scanned = this.from + byteOrderMark.length;
    this.atFileStart = false;
    return true;
  }

  /** Drops the scanned bytes of a line that grew past `maxLineBytes` (keeping its head). */
  private keepBounded(): void {
    const pending = this.to - this.from;
    if (this.skipping === null) {
      if (pending <= this.maxLineBytes) return;
      this.skipping = {
        start: this.offsetOf(this.from),
        length: 0,
        head: Buffer.from(this.buffer.subarray(this.from, this.from + tooLongHead)),
      };
    }
    this.skipping.length += pending;
    this.from = this.scanned = this.to;
  }

  /** Reads more of the file after the buffered bytes; `false` at the end of the file. */
  private async read(): Promise<boolean> {
    this.makeRoom();
    const { bytesRead } = await this.handle.read(
      this.buffer,
      this.to,
      this.buffer.length - this.to,
      this.position,
    );
    this.to += bytesRead;
    this.position += bytesRead;
    return bytesRead > 0;
  }

  /**
   * Leaves at least a read chunk free after the buffered bytes. The unconsumed bytes move to
   * the front, into a buffer at least twice their size, so each byte is moved O(1) times on
   * average however long its line is.
   */
  private makeRoom(): void {
    const pending = this.to - this.from;
    if (this.buffer.length - this.to >= readChunk) return;
    const needed = pending * 2 + readChunk;
    if (needed <= this.buffer.length) {
      this.buffer.copyWithin(0, this.from, this.to);
    } else {
      const larger = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(larger, 0, this.from, this.to);
      this.buffer = larger;
    }
    this.scanned -= this.from;
    this.from = 0;
    this.to = pending;
  }
}
