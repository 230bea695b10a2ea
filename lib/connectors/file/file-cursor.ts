import { createHash } from 'node:crypto';
import { readFile, type FileHandle } from 'node:fs/promises';
import { ErgonError } from '../../core/errors.js';
import { replaceFileAtomically } from './internal/creating-folders.js';

/** A read position: the last line consumed and the byte offset just past its newline. */
export interface FilePosition {
  /** Physical number of the line that ends at `offset` (0 at the start of the file). */
  readonly line: number;
  readonly offset: number;
}

/**
 * A file connector's cursor cannot be used: it is corrupt, or it was written for a different
 * file (replaced or truncated since). Its message names the cursor and what to do.
 */
export class FileCursorError extends ErgonError {
  constructor(
    /** The cursor file. */
    readonly cursorPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How many bytes at the start of the file, and just before the offset, identify it. */
const fingerprintBytes = 4096;

/** The cursor as stored (`sha256` is absent in cursors written before it existed). */
interface StoredCursor {
  readonly line: number;
  readonly offset: number;
  readonly sha256?: string;
}

/**
 * The cursor of a file connector: where reading resumes, kept in a small JSON file next to
 * the data (`{ line, offset, sha256 }`) and replaced atomically (write + rename). `sha256`
 * fingerprints the file's first bytes and the bytes just before `offset`, so a cursor is
 * refused (with a {@link FileCursorError}) for a file that was replaced or truncated since,
 * instead of silently reading nothing or starting mid-file.
 */
export class FileCursor {
  /** The file's first {@link fingerprintBytes} bytes, once it has that many (they never change). */
  private head: Buffer | null = null;

  constructor(
    readonly path: string,
    /** The data file the cursor is for. */
    private readonly filePath: string,
  ) {}

  /** The stored position, checked against the file; the start of the file when there is none. */
  async load(file: FileHandle): Promise<FilePosition> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return { line: 0, offset: 0 };
      throw error;
    }
    const stored = this.parse(text);
    const { size } = await file.stat();
    if (size < stored.offset) {
      throw this.refused(
        `it points at byte ${stored.offset} but ${this.filePath} has only ${size} bytes: the file was replaced or truncated since`,
      );
    }
    if (stored.sha256 === undefined) {
      if (stored.offset > 0 && (await byteAt(file, stored.offset - 1)) !== 0x0a) {
        throw this.refused(
          `byte ${stored.offset} of ${this.filePath} is not the start of a line: the file was replaced since`,
        );
      }
    } else if ((await this.fingerprint(file, stored.offset)) !== stored.sha256) {
      throw this.refused(
        `the bytes of ${this.filePath} before byte ${stored.offset} are not the ones it was written after: the file was replaced since`,
      );
    }
    return { line: stored.line, offset: stored.offset };
  }

  /** Stores `position` with the fingerprint of `file` (atomically: a crash keeps the old one). */
  async save(position: FilePosition, file: FileHandle): Promise<void> {
    const stored: StoredCursor = {
      line: position.line,
      offset: position.offset,
      sha256: await this.fingerprint(file, position.offset),
    };
    await replaceFileAtomically(this.path, JSON.stringify(stored));
  }

  /** SHA-256 of the file's first bytes and the bytes just before `offset` (hex). */
  private async fingerprint(file: FileHandle, offset: number): Promise<string> {
    const headLength = Math.min(offset, fingerprintBytes);
    let head = this.head;
    if (head === null || headLength < fingerprintBytes) {
      head = await readRange(file, 0, headLength);
      if (head.length === fingerprintBytes) this.head = head;
    }
    const tailStart = Math.max(0, offset - fingerprintBytes);
    const tail = await readRange(file, tailStart, offset - tailStart);
    return createHash('sha256').update(head.subarray(0, headLength)).update(tail).digest('hex');
  }

  private parse(text: string): StoredCursor {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.refused(
        `it is not valid JSON (${(error as Error).message}), it is corrupt`,
        error,
      );
    }
    const { line, offset, sha256 } = (value ?? {}) as Record<string, unknown>;
    if (!isCount(line) || !isCount(offset) || offset < line) {
      throw this.refused(
        `it holds ${JSON.stringify(value)}, not a line and a byte offset (integers ≥ 0, offset ≥ line): it is corrupt`,
      );
    }
    if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))) {
      throw this.refused(`its sha256 ${JSON.stringify(sha256)} is not a SHA-256: it is corrupt`);
    }
    return sha256 === undefined ? { line, offset } : { line, offset, sha256 };
  }

  private refused(problem: string, cause?: unknown): FileCursorError {
    return new FileCursorError(
      this.path,
      `cannot resume ${this.filePath} from the cursor ${this.path}: ${problem}. ` +
        `Delete ${this.path} to read ${this.filePath} from its first line (lines processed before are processed again), ` +
        'or put back the file the cursor was written for',
      cause === undefined ? undefined : { cause },
    );
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

async function byteAt(file: FileHandle, offset: number): Promise<number | undefined> {
  const byte = Buffer.alloc(1);
  const { bytesRead } = await file.read(byte, 0, 1, offset);
  return bytesRead === 1 ? byte[0] : undefined;
}

async function readRange(file: FileHandle, start: number, length: number): Promise<Buffer> {
  if (length === 0) return Buffer.alloc(0);
  const bytes = Buffer.alloc(length);
  const { bytesRead } = await file.read(bytes, 0, length, start);
  return bytes.subarray(0, bytesRead);
}
