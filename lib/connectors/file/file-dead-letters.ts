import { open, readFile, rm } from 'node:fs/promises';
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
import { traceMetadataKeys } from '../../core/trace-headers.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { appendFileCreatingFolders } from './internal/creating-folders.js';
import { redriveLine } from './internal/redrive-line.js';

/** Another redrive or purge kept the dead-letter file's lock for too long. */
export class DeadLetterLockError extends ErgonError {}

/** How long a redrive or purge waits for another one to finish. */
const lockWait = 30_000;
const lockPoll = 25;

/** A dead letter and where its line starts in the dead-letter file (its identity). */
interface FileLetter<P> {
  readonly offset: number;
  readonly letter: DeadLetter<P>;
  /** Whether the line is a dead-letter record (else a payload-only line: no id to keep). */
  readonly recorded: boolean;
  /** The trace context it had (`traceparent`, `tracestate`). */
  readonly trace: Readonly<Record<string, string>>;
}

/** How {@link FileDeadLetters} writes to the connector's source file. */
export interface FileSource<P> {
  /** One payload as a line without its newline (throws when it cannot be one line). */
  render(payload: P): string;
  /** Appends complete lines (each ending with a newline) to the source file. */
  append(text: string): Promise<void>;
}

function missing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * The dead-letter file of a {@link FileConnector} (`<path>.dead.jsonl`) as
 * {@link DeadLetters}. Each line is a JSON object: `id`, `line`, `error`, `stage`, `category`,
 * `deadLetteredAt`, `deliveries`, `metadata` (the transaction's, with its trace context) and
 * `payload` (records of earlier versions lack `deliveries` and `metadata`: 1, none). A line
 * that is not such a record (a payload alone, written by another tool) is a dead letter too:
 * its payload is the line (parsed as JSON when it is), its id `<dead file>#<offset>`, with no
 * error, trace context or delivery count.
 *
 * The file is only ever appended to (the connector appends while this reads): a dead letter
 * is removed by recording its byte offset in `<dead file>.done`, and `list` skips those.
 * `redrive` appends one line per selected dead letter to the source file — the payload line
 * wrapped with the transaction id, trace context and `ergon-redrive-of` (see
 * {@link FileConnector}), so it is delivered again under its id, continuing its trace, with a
 * fresh delivery count — and records them as done, holding `<dead file>.lock` (created
 * exclusively) meanwhile; a concurrent redrive or purge waits for the lock, then finds them
 * done, so none is sent twice. A crash between the append and the record sends it again on
 * the next redrive.
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
    private readonly source: FileSource<P>,
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
      const sent: FileLetter<P>[] = [];
      const skipped: string[] = [];
      let text = '';
      for (const entry of selected) {
        let line: string;
        try {
          line = this.source.render(entry.letter.payload);
        } catch {
          skipped.push(entry.letter.id); // stays dead-lettered: `show` has its payload
          continue;
        }
        const envelope = {
          of: entry.letter.location,
          ...(entry.recorded ? { id: entry.letter.id } : {}),
          trace: entry.trace,
        };
        text += `${redriveLine(envelope, line)}\n`;
        sent.push(entry);
      }
      if (text !== '') await this.source.append(text);
      await this.markDone(sent);
      return { redriven: sent.map((entry) => entry.letter.id), skipped };
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
    const lines = text.split('\n');
    // The last piece has no newline: empty, or a line cut short by a crash while appended.
    lines.pop();
    let offset = 0;
    for (const line of lines) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      if (line.trim() === '' || done.has(start)) continue;
      const entry = this.entry(line, start);
      if (!deadLetterMatches(entry.letter, query)) continue;
      selected.push(entry);
      if (query.limit !== undefined && selected.length >= query.limit) break;
    }
    return selected;
  }

  /** The dead letter of one complete line: a record, or a payload alone. */
  private entry(line: string, offset: number): FileLetter<P> {
    const location = `${this.path}#${offset}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return this.payloadOnly(line as P, location, offset);
    }
    if (
      !isPlainObject(record) ||
      typeof record['id'] !== 'string' ||
      typeof record['error'] !== 'string' ||
      !('payload' in record)
    ) {
      return this.payloadOnly(record as P, location, offset);
    }
    const string = (key: string): string | undefined =>
      typeof record[key] === 'string' ? record[key] : undefined;
    const stage = string('stage');
    const category = string('category');
    const at = Date.parse(string('deadLetteredAt') ?? '');
    const deliveries = record['deliveries'];
    const metadata = isPlainObject(record['metadata']) ? record['metadata'] : {};
    const trace: Record<string, string> = {};
    for (const key of traceMetadataKeys) {
      const value = metadata[key];
      if (typeof value === 'string') trace[key] = value;
    }
    const letter: DeadLetter<P> = Object.freeze({
      id: record['id'],
      payload: record['payload'] as P,
      error: record['error'],
      ...(stage === undefined ? {} : { stage }),
      ...(category === undefined ? {} : { category }),
      reason: 'failed',
      deadLetteredAt: new Date(Number.isNaN(at) ? 0 : at),
      deliveryCount:
        typeof deliveries === 'number' && Number.isSafeInteger(deliveries) && deliveries >= 1
          ? deliveries
          : 1,
      ...(trace['traceparent'] === undefined ? {} : { traceparent: trace['traceparent'] }),
      location,
    });
    return { offset, letter, recorded: true, trace };
  }

  private payloadOnly(payload: P, location: string, offset: number): FileLetter<P> {
    const letter: DeadLetter<P> = Object.freeze({
      id: location,
      payload,
      error: '',
      reason: 'failed',
      deadLetteredAt: new Date(0),
      deliveryCount: 1,
      location,
    });
    return { offset, letter, recorded: false, trace: {} };
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
