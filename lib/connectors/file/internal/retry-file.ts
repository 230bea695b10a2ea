import { readFile } from 'node:fs/promises';
import { replaceFileAtomically } from './creating-folders.js';

/** One transaction held back for a retry-later, as the retry file keeps it. */
export interface RetryRecord {
  /** The transaction id (of the line it came from). */
  readonly id: string;
  /** When it is due, in milliseconds since the epoch. */
  readonly due: number;
  /** Deliveries so far. */
  readonly deliveries: number;
  /** The line number it came from (its metadata), or `null`. */
  readonly line: number | null;
  /** The payload rendered as a line (the connector's `stringify`). */
  readonly text: string;
  /** Its trace context and `ergon-redrive-of`, given back with it (absent in older files). */
  readonly carried?: Readonly<Record<string, string>>;
}

/**
 * The retry file of a {@link FileConnector}: every transaction held back for a delay, one JSON
 * object per line, the whole file replaced atomically after each change (a crash keeps the
 * old version or the new one). Changes asked for while a write runs share the next write.
 * Meant for a modest number of held-back transactions: each write is of all of them.
 */
export class RetryFile {
  private readonly records = new Map<string, RetryRecord>();
  private loaded: Promise<void> | null = null;
  /** The write under way, and the one that will carry changes made meanwhile. */
  private writing: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(readonly path: string) {}

  /** Reads the file once (a missing file holds nothing). */
  load(): Promise<void> {
    this.loaded ??= readFile(this.path, 'utf8').then(
      (text) => {
        for (const line of text.split('\n')) {
          if (line.trim() === '') continue;
          const record = JSON.parse(line) as RetryRecord;
          this.records.set(record.id, record);
        }
      },
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException | null)?.code !== 'ENOENT') {
          this.loaded = null;
          throw error;
        }
      },
    );
    return this.loaded;
  }

  get size(): number {
    return this.records.size;
  }

  /** Adds or replaces a record; resolves once the file holds it. */
  async put(record: RetryRecord): Promise<void> {
    await this.load();
    this.records.set(record.id, record);
    return this.persist();
  }

  /** Removes a record; resolves once the file no longer holds it. */
  async remove(id: string): Promise<void> {
    await this.load();
    if (!this.records.delete(id)) return;
    return this.persist();
  }

  /** Up to `limit` records due at `now`, soonest first, leaving out the ids in `skip`. */
  due(now: number, limit: number, skip: ReadonlySet<string>): RetryRecord[] {
    const due: RetryRecord[] = [];
    for (const record of this.records.values()) {
      if (record.due <= now && !skip.has(record.id)) due.push(record);
    }
    return due.sort((a, b) => a.due - b.due).slice(0, limit);
  }

  /** Waits for every write asked for so far. */
  async flushed(): Promise<void> {
    await this.next;
    await this.writing;
  }

  private persist(): Promise<void> {
    if (this.next !== null) return this.next;
    const after = this.writing ?? Promise.resolve();
    const write = after.then(
      () => this.write(),
      () => this.write(),
    );
    this.next = write;
    void write.then(
      () => this.finished(write),
      () => this.finished(write),
    );
    return write;
  }

  private write(): Promise<void> {
    // From now on, changes wait for the write after this one.
    const write = this.next;
    this.next = null;
    this.writing = write;
    const text = [...this.records.values()].map((record) => `${JSON.stringify(record)}\n`);
    return replaceFileAtomically(this.path, text.join(''));
  }

  private finished(write: Promise<void>): void {
    if (this.writing === write) this.writing = null;
  }
}
