import { open, readFile, rm } from 'node:fs/promises';
import type { DispatchReport } from '../../core/connector.js';
import {
  deadLetterMatches,
  deadLetterQuery,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from '../../core/dead-letters.js';
import { ErgonError } from '../../core/errors.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { appendFileCreatingFolders } from './internal/creating-folders.js';

/** Another redrive or purge kept the dead-letter file's lock for too long. */
export class DeadLetterLockError extends ErgonError {}

/** How long a redrive or purge waits for another one to finish. */
const lockWait = 30_000;
const lockPoll = 25;

/** A dead letter and where its line starts in the dead-letter file (its identity). */
interface FileLetter<P> {
  readonly offset: number;
  readonly letter: DeadLetter<P>;
}

function missing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * The dead-letter file of a {@link FileConnector} (`<path>.dead.jsonl`) as
 * {@link DeadLetters}. The file is only ever appended to (the connector appends while this
 * reads): a dead letter is removed by recording its byte offset in `<dead file>.done`, and
 * `list` skips those. `redrive` appends the selected payloads to the source file (like
 * `dispatch`) and records them as done, holding `<dead file>.lock` (created exclusively)
 * meanwhile; a concurrent redrive or purge waits for the lock, then finds them done, so none
 * is sent twice. A crash between the append and the record sends it again on the next redrive.
 *
 * Limits of a plain JSON-lines file: a redriven line gets a new id (its new line number) and
 * carries no trace context, since the file holds payloads only; its dead letter's id and
 * error stay in the dead-letter file. Delivery counts are not kept (always 1).
 *
 * @example
 * ```ts
 * const dead = new FileConnector({ path: 'orders.jsonl' }).deadLetters();
 * console.log(await dead.list({ filter: 'invalid sku' }));
 * ```
 */
export class FileDeadLetters<P> implements DeadLetters<P> {
  private readonly donePath: string;
  private readonly lockPath: string;

  constructor(
    private readonly path: string,
    private readonly appendToSource: (payloads: readonly P[]) => Promise<DispatchReport<P>>,
  ) {
    this.donePath = `${path}.done`;
    this.lockPath = `${path}.lock`;
  }

  async list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]> {
    return (await this.select(deadLetterQuery(query))).map((entry) => entry.letter);
  }

  async show(id: string): Promise<DeadLetter<P> | undefined> {
    return (await this.select({ ids: [id] })).at(-1)?.letter;
  }

  redrive(query?: DeadLetterQuery): Promise<RedriveReport> {
    const checked = deadLetterQuery(query);
    return this.locked(async () => {
      const selected = await this.select(checked);
      if (selected.length === 0) return { redriven: [], skipped: [] };
      const report = await this.appendToSource(selected.map((entry) => entry.letter.payload));
      if (report.failed.length > 0) {
        // One append wrote every line that could be rendered, or none: nothing is marked done.
        return { redriven: [], skipped: selected.map((entry) => entry.letter.id) };
      }
      await this.markDone(selected);
      return { redriven: selected.map((entry) => entry.letter.id), skipped: [] };
    });
  }

  purge(query?: DeadLetterQuery): Promise<PurgeReport> {
    const checked = deadLetterQuery(query);
    return this.locked(async () => {
      const selected = await this.select(checked);
      await this.markDone(selected);
      return { purged: selected.map((entry) => entry.letter.id) };
    });
  }

  private async markDone(entries: readonly FileLetter<P>[]): Promise<void> {
    if (entries.length === 0) return;
    await appendFileCreatingFolders(
      this.donePath,
      entries.map((entry) => `${entry.offset}\n`).join(''),
    );
  }

  /** The dead letters `query` selects (not done), oldest first. */
  private async select(query: DeadLetterQuery): Promise<FileLetter<P>[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (missing(error)) return [];
      throw error;
    }
    const done = new Set<number>();
    try {
      for (const line of (await readFile(this.donePath, 'utf8')).split('\n')) {
        if (line !== '') done.add(Number(line));
      }
    } catch (error) {
      if (!missing(error)) throw error;
    }
    const selected: FileLetter<P>[] = [];
    let offset = 0;
    for (const line of text.split('\n')) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      if (line.trim() === '' || done.has(start)) continue;
      const letter = this.letter(line, start);
      if (letter === undefined || !deadLetterMatches(letter, query)) continue;
      selected.push({ offset: start, letter });
      if (query.limit !== undefined && selected.length >= query.limit) break;
    }
    return selected;
  }

  private letter(line: string, offset: number): DeadLetter<P> | undefined {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return undefined; // a line cut short by a crash while it was appended
    }
    if (!isPlainObject(record)) return undefined;
    const string = (key: string): string | undefined =>
      typeof record[key] === 'string' ? record[key] : undefined;
    const stage = string('stage');
    const category = string('category');
    const at = Date.parse(string('deadLetteredAt') ?? '');
    return Object.freeze({
      id: string('id') ?? `${this.path}#${offset}`,
      payload: record['payload'] as P,
      error: string('error') ?? '',
      ...(stage === undefined ? {} : { stage }),
      ...(category === undefined ? {} : { category }),
      reason: 'failed',
      deadLetteredAt: new Date(Number.isNaN(at) ? 0 : at),
      deliveryCount: 1,
      location: `${this.path}#${offset}`,
    });
  }

  /** Runs `work` holding the lock file (waiting up to 30 s for another holder). */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + lockWait;
    for (;;) {
      try {
        const handle = await open(this.lockPath, 'wx');
        await handle.write(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if (missing(error)) {
          await appendFileCreatingFolders(this.donePath, '');
          continue;
        }
        if ((error as NodeJS.ErrnoException | null)?.code !== 'EEXIST') throw error;
        if (Date.now() > deadline) {
          throw new DeadLetterLockError(
            `${this.lockPath} was held for more than ${lockWait / 1000} s by another redrive or purge; if none is running (a process died holding it), delete the file and try again`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, lockPoll));
      }
    }
    try {
      return await work();
    } finally {
      await rm(this.lockPath, { force: true });
    }
  }
}
