import { open, rename, writeFile, appendFile, readFile, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { defer, from, of, mergeMap, type Observable } from 'rxjs';
import { markUndecodable } from '../core/decode-failure.js';
import { FifoQueue } from '../core/fifo-queue.js';
import type { SettleDecision } from '../core/settle-decision.js';
import { createTransaction, type Transaction } from '../core/transaction.js';
import { ConnectorClosedError } from './connector-closed-error.js';
import type {
  Connector,
  ConnectorHealth,
  DispatchContext,
  DispatchReport,
  FetchRequest,
} from './connector.js';
import { LineLedger } from './line-ledger.js';
import { PayloadDecodeError } from './payload-codec.js';
import { SettlementError } from './settlement-error.js';

/** Options of a {@link FileConnector}. */
export interface FileConnectorOptions<P> {
  /** The JSON-lines file: read by `fetch`, appended to by `dispatch`. */
  readonly path: string;
  /** Where the read position is kept between runs (default `<path>.cursor`). */
  readonly cursorPath?: string;
  /**
   * Where dead-lettered lines go, one JSON object per line with `line`, `id`, `error` and
   * `payload` (default `<path>.dead.jsonl`).
   */
  readonly deadLetterPath?: string;
  /** Parses one line (default `JSON.parse`); throw to mark the line undecodable. */
  readonly parse?: (line: string) => P;
  /** Renders one payload as a line without its newline (default `JSON.stringify`). */
  readonly stringify?: (payload: P) => string;
}

interface ReadLine {
  readonly line: number;
  readonly end: number;
  readonly text: string;
}

const readChunk = 64 * 1024;

/**
 * A JSON-lines file as a connector. `fetch` hands out lines in order (transaction id
 * `<file name>:<line number>`, metadata `{ file, line }`); settling advances a cursor kept in
 * `<path>.cursor`, so a restart resumes after the last line settled together with all lines
 * before it (lines settled out of order may be read again: at-least-once). Released lines are
 * handed out again first; dead-lettered ones are appended to the dead-letter file with their
 * error. A line that does not parse becomes a transaction marked undecodable (the exception
 * handler gets a `TransactionError` with stage `decode` naming the line), never a crash.
 * `dispatch` appends each batch with one write, a line per payload.
 *
 * @example
 * ```ts
 * const input = new FileConnector<Order>({ path: 'orders.jsonl' });
 * const valid = new FileConnector<Order>({ path: 'valid.jsonl' });
 * consume(input, consumerTask({ process: (tx) => valid.dispatch([tx]) })).subscribe();
 * ```
 */
export class FileConnector<P = unknown> implements Connector<P> {
  readonly system = 'file';
  readonly destination: string;
  private readonly cursorPath: string;
  private readonly deadLetterPath: string;
  private readonly parse: (line: string) => P;
  private readonly stringify: (payload: P) => string;
  private readonly name: string;
  private handle: FileHandle | null = null;
  private ledger: LineLedger | null = null;
  private readOffset = 0;
  private nextLine = 1;
  private pending: Buffer = Buffer.alloc(0);
  private readonly redelivery = new FifoQueue<Transaction<P>>();
  private readonly lineOf = new WeakMap<Transaction<P>, number>();
  private cursorWrite: Promise<void> = Promise.resolve();
  private cursorDirty = false;
  /** Why the last cursor write failed (the cursor then lags: lines may be read again). */
  private cursorError: unknown = undefined;
  /** Serialises reads and appends, so concurrent fetches or dispatches never interleave. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: FileConnectorOptions<P>) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('FileConnector needs a path to a JSON-lines file');
    }
    this.cursorPath = options.cursorPath ?? `${options.path}.cursor`;
    this.deadLetterPath = options.deadLetterPath ?? `${options.path}.dead.jsonl`;
    this.parse = options.parse ?? ((line) => JSON.parse(line) as P);
    this.stringify = options.stringify ?? ((payload) => JSON.stringify(payload));
    this.name = basename(options.path);
    this.destination = this.name;
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return defer(() => from(this.serially(() => this.take(request.size)))).pipe(
      mergeMap((batch) => from(batch)),
    );
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> | void {
    const line = this.lineOf.get(transaction);
    const ledger = this.ledger;
    if (line === undefined || ledger === null || !ledger.outstanding(line)) {
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from ${this.name}`,
      );
    }
    if (decision.type === 'release') {
      ledger.release(line);
      this.redelivery.push(transaction);
      return;
    }
    const moved = ledger.settle(line);
    const deadLetter =
      decision.type === 'deadLetter'
        ? appendFile(
            this.deadLetterPath,
            `${JSON.stringify({
              line,
              id: transaction.id,
              error: decision.error.message,
              payload: transaction.payload,
            })}\n`,
          )
        : undefined;
    if (moved) this.saveCursor();
    return deadLetter;
  }

  /**
   * Appends the batch, one line per payload, with a single write (starting a new line first
   * when the file ends without one). A batch whose `signal` aborted while it waited for an
   * earlier read or append is not written (rejects with `signal.reason`); a write that
   * started is finished, never cut into a partial line.
   */
  dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    return this.serially(() => {
      context?.signal.throwIfAborted();
      return this.append(transactions);
    });
  }

  private async append(transactions: readonly Transaction<P>[]): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
    const failed: { transaction: Transaction<P>; error: unknown }[] = [];
    let text = '';
    for (const transaction of transactions) {
      try {
        const line = this.stringify(transaction.payload);
        if (line.includes('\n')) throw new PayloadDecodeError('a rendered payload spans lines');
        text += `${line}\n`;
      } catch (error) {
        failed.push({ transaction, error });
      }
    }
    if (text !== '') {
      if (await endsWithoutNewline(this.options.path)) text = `\n${text}`;
      await appendFile(this.options.path, text);
    }
    return { failed };
  }

  /** Runs `work` after every earlier read or append finished. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.exclusive.then(work, work);
    this.exclusive = result.catch(() => undefined);
    return result;
  }

  /** Finds a line by its transaction id (`<file name>:<line>`), reading the file. */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(async () => {
      const prefix = `${this.name}:`;
      const line = id.startsWith(prefix) ? Number(id.slice(prefix.length)) : NaN;
      if (!Number.isInteger(line) || line < 1) return undefined;
      const text = await readFile(this.options.path, 'utf8');
      const lines = text.split('\n');
      const found = lines[line - 1];
      return found === undefined || found.trim() === ''
        ? undefined
        : this.toTransaction({ line, end: 0, text: found });
    });
  }

  health(): Observable<ConnectorHealth> {
    return defer(() =>
      of<ConnectorHealth>(
        this.cursorError === undefined
          ? { healthy: !this.closed, state: this.closed ? 'closed' : 'open' }
          : {
              healthy: false,
              state: 'cursor-failing',
              detail: `the cursor ${this.cursorPath} cannot be written: ${String(this.cursorError)}`,
            },
      ),
    );
  }

  /** Writes the cursor and closes the file; unsettled lines will be read again next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exclusive;
    await this.cursorWrite;
    try {
      if (this.cursorDirty) await this.writeCursor();
    } finally {
      await this.handle?.close();
      this.handle = null;
    }
  }

  private async take(size: number): Promise<Transaction<P>[]> {
    if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
    await this.openOnce();
    const batch: Transaction<P>[] = [];
    while (batch.length < size && this.redelivery.length > 0) {
      const transaction = this.redelivery.shift() as Transaction<P>;
      (this.ledger as LineLedger).handOutAgain(this.lineOf.get(transaction) as number);
      batch.push(transaction);
    }
    while (batch.length < size) {
      const line = await this.readLine();
      if (line === undefined) break;
      (this.ledger as LineLedger).handOut(line.line, line.end);
      batch.push(this.toTransaction(line));
    }
    return batch;
  }

  private toTransaction(line: ReadLine): Transaction<P> {
    const id = `${this.name}:${line.line}`;
    const metadata = { file: this.options.path, line: line.line };
    let transaction: Transaction<P>;
    try {
      transaction = createTransaction(this.parse(line.text), { id, metadata });
    } catch (error) {
      transaction = markUndecodable(
        createTransaction(line.text as P, { id, metadata }),
        new PayloadDecodeError(
          `line ${line.line} of ${this.name} is not valid: ${(error as Error).message}`,
          {
            cause: error,
          },
        ),
      );
    }
    this.lineOf.set(transaction, line.line);
    return transaction;
  }

  private async openOnce(): Promise<void> {
    if (this.handle !== null) return;
    let line = 0;
    let offset = 0;
    try {
      const saved = JSON.parse(await readFile(this.cursorPath, 'utf8')) as {
        line?: unknown;
        offset?: unknown;
      };
      if (typeof saved.line === 'number' && typeof saved.offset === 'number') {
        line = saved.line;
        offset = saved.offset;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.handle = await open(this.options.path, 'r');
    this.ledger = new LineLedger(line, offset);
    this.readOffset = offset;
    this.nextLine = line + 1;
  }

  /**
   * The next non-blank line, or the unterminated last one at the end of the file. Works on
   * bytes (a newline byte never occurs inside a multi-byte UTF-8 character), so offsets are
   * exact.
   */
  private async readLine(): Promise<ReadLine | undefined> {
    for (;;) {
      const newline = this.pending.indexOf(0x0a);
      if (newline >= 0) {
        const text = this.pending.toString('utf8', 0, newline);
        this.pending = this.pending.subarray(newline + 1);
        const line = { line: this.nextLine++, end: this.readOffset - this.pending.length, text };
        if (text.trim() !== '') return line;
        continue;
      }
      const buffer = Buffer.alloc(readChunk);
      const handle = this.handle as FileHandle;
      const { bytesRead } = await handle.read(buffer, 0, readChunk, this.readOffset);
      if (bytesRead === 0) {
        const text = this.pending.toString('utf8');
        this.pending = Buffer.alloc(0);
        return text.trim() === ''
          ? undefined
          : { line: this.nextLine++, end: this.readOffset, text };
      }
      this.readOffset += bytesRead;
      this.pending = Buffer.concat([this.pending, buffer.subarray(0, bytesRead)]);
    }
  }

  /** Writes the cursor soon, coalescing bursts; a failed write is kept for `health()`. */
  private saveCursor(): void {
    this.cursorDirty = true;
    this.cursorWrite = this.cursorWrite
      .then(() => (this.cursorDirty ? this.writeCursor() : undefined))
      .then(
        () => {
          this.cursorError = undefined;
        },
        (error: unknown) => {
          this.cursorError = error;
        },
      );
  }

  private async writeCursor(): Promise<void> {
    const ledger = this.ledger as LineLedger;
    this.cursorDirty = false;
    const temporary = `${this.cursorPath}.tmp`;
    await writeFile(temporary, JSON.stringify({ line: ledger.line, offset: ledger.offset }));
    await rename(temporary, this.cursorPath);
  }
}

/** Whether a non-empty file's last byte is not a newline. */
async function endsWithoutNewline(path: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}
