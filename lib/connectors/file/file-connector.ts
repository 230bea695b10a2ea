import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { context, propagation } from '@opentelemetry/api';
import { defer, Observable, of, type Subscriber } from 'rxjs';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { ConnectorClosedError, SettlementError, type TransactionError } from '../../core/errors.js';
import { deliveryCountOf, refuseNotBefore } from '../../core/delivery-schedule.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import type { SettleDecision } from '../../core/outcome.js';
import { PayloadDecodeError } from '../../core/payload-codec.js';
import { redriveOfKey } from '../../core/dead-letters.js';
import { describeError } from '../../core/renderers.js';
import { traceMetadataKeys } from '../../core/trace-headers.js';
import { createTransaction, markUndecodable, type Transaction } from '../../core/transaction.js';
import { noop } from '../../core/waiting.js';
import { FileCursor, type FilePosition } from './file-cursor.js';
import { appendFileCreatingFolders } from './internal/creating-folders.js';
import { LineLedger, type LedgerEntry } from './internal/line-ledger.js';
import { FileDeadLetters } from './file-dead-letters.js';
import { LineReader, type FileLine, type LineFragment } from './internal/line-reader.js';
import { readRedriveLine, redriveMetadata } from './internal/redrive-line.js';
import { RetryFile, type RetryRecord } from './internal/retry-file.js';

/** Options of a {@link FileConnector}. */
export interface FileConnectorOptions<P> {
  /** The JSON-lines file: read by `fetch`, appended to by `dispatch`. */
  readonly path: string;
  /**
   * Where the read position is kept between runs (default `<path>.cursor`); missing folders
   * are created.
   */
  readonly cursorPath?: string;
  /**
   * Where dead-lettered lines go, one JSON object per line with `line`, `id`, `error`,
   * `stage`, `category`, `deadLetteredAt`, `deliveries`, `metadata` (with the trace context)
   * and `payload` (and `base64`, the line's bytes, when they were not valid UTF-8); default
   * `<path>.dead.jsonl`, missing folders are created. `deadLetters()` reads it.
   */
  readonly deadLetterPath?: string;
  /**
   * Where transactions held back by a retry-later wait (default `<path>.retry.jsonl`): one
   * JSON object per line with `id`, `due`, `deliveries`, `line` and `text` (the payload
   * rendered by `stringify`), the file replaced atomically on each change.
   */
  readonly retryPath?: string;
  /** Parses one line (default `JSON.parse`); throw to mark the line undecodable. */
  readonly parse?: (line: string) => P;
  /** Renders one payload as a line without its newline (default `JSON.stringify`). */
  readonly stringify?: (payload: P) => string;
  /**
   * Whether writers keep appending while the file is read (set it like the policy's
   * `loop.streaming`). A last line without its newline yet then waits for the rest; without
   * `streaming` (the default) such a line is reported once, when nothing else is left to read,
   * as an undecodable transaction, and stays unread (the cursor stops before it).
   */
  readonly streaming?: boolean;
  /**
   * Longest line in bytes, newline excluded (default 64 MiB). A longer line is not held in
   * memory: it becomes an undecodable transaction (stage `decode`) carrying its first KiB.
   */
  readonly maxLineBytes?: number;
}

/** A line read and decoded, not handed out yet. */
interface ReadyLine<P> {
  readonly transaction: Transaction<P>;
  readonly resume: FilePosition;
}

const defaultMaxLineBytes = 64 * 1024 * 1024;
/** How often a fetch lets the event loop run while a cursor write is under way, in ms. */
const yieldEveryMs = 1;

/**
 * A JSON-lines file as a connector. `fetch` hands out complete lines (ending with a newline)
 * in order, as transactions with id `<file name>:<line number>@<run>` (`run` is
 * {@link FileConnector.run}, random per connector, so ids never repeat across runs) and
 * metadata `{ file, line }`. Settling advances a cursor kept in `<path>.cursor`, so a restart
 * resumes after the last line settled together with all lines before it (lines settled out
 * of order may be read again: at-least-once). The cursor passes a line only once its
 * settlement is durable: a dead-lettered line once it was appended to the dead-letter file
 * with its error. Released lines are handed out again first, and so are lines read by a fetch
 * that was cancelled before it emitted them. A line that does not parse, is not valid UTF-8
 * or is longer than `maxLineBytes` becomes a transaction marked undecodable (the exception
 * handler gets a `TransactionError` with stage `decode` naming the line), never a crash. The
 * cursor records a fingerprint of the file, and a cursor that does not fit the file (replaced,
 * truncated, corrupt cursor) fails the fetch with a {@link FileCursorError} saying what to do.
 * `dispatch` appends each batch with one write, a line per payload. A line a dead-letter
 * redrive appended (`{"ergon-redrive":{of, id, trace},"line":"<payload line>"}`) is read as
 * its inner payload line, under the dead letter's id, with its trace context and
 * `ergon-redrive-of` in the metadata.
 *
 * @example
 * ```ts
 * const input = new FileConnector<Order>({ path: 'orders.jsonl' });
 * const valid = new FileConnector<Order>({ path: 'out/valid.jsonl' });
 * consume(input, consumerTask({ process: (tx) => valid.dispatch([tx]) })).subscribe();
 * ```
 */
export class FileConnector<P = unknown> implements Connector<P> {
  readonly system = 'file';
  /**
   * A retry-later writes the transaction to the retry file, then settles its line (the
   * cursor moves on); a fetch hands out what is due there before new lines, and a restart
   * reads the file again. `dispatch` appends at once, so it refuses a future
   * `metadata.notBefore`; no priorities.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: false,
    priority: false,
  });
  readonly destination: string;
  /**
   * This connector's run: random hex, the part of every transaction id after `@`, so ids
   * of two runs (or two files of the same name) never collide. The line is in the metadata.
   */
  readonly run = randomBytes(8).toString('hex');
  private readonly cursor: FileCursor;
  private readonly deadLetterPath: string;
  private readonly parse: (line: string) => P;
  private readonly stringify: (payload: P) => string;
  private readonly maxLineBytes: number;
  private readonly name: string;
  private handle: FileHandle | null = null;
  private reader: LineReader | null = null;
  private ledger: LineLedger | null = null;
  private readonly redelivery = new FifoQueue<Transaction<P>>();
  /** Lines read in file order and not handed out yet (their fetch was cancelled first). */
  private readonly readAhead = new FifoQueue<ReadyLine<P>>();
  private readonly entries = new WeakMap<Transaction<P>, LedgerEntry>();
  /** Transactions held back by a retry-later: the file, and the ones handed out from it. */
  private readonly retries: RetryFile;
  private readonly retried = new WeakMap<Transaction<P>, RetryRecord>();
  private readonly retriesOut = new Set<string>();
  /** The bytes of lines that were not valid UTF-8, for their dead letter. */
  private readonly rawBytes = new WeakMap<Transaction<P>, Buffer>();
  /** Start offset of the incomplete last line reported already (reported once per run). */
  private reportedFragment: number | null = null;
  private cursorWrite: Promise<void> = Promise.resolve();
  /** Whether the watermark moved since the cursor was last written. */
  private cursorDirty = false;
  /** Whether a cursor write is under way. */
  private cursorSaving = false;
  /** When a fetch last let the event loop run (see {@link FileConnector.fill}). */
  private lastYield = 0;
  /** Why the last cursor write failed (the cursor then lags: lines may be read again). */
  private cursorError: unknown = undefined;
  /** Appends to the dead-letter file, one after the other. */
  private deadLetterWrites: Promise<void> = Promise.resolve();
  /** Why the last dead-letter write failed (that line stays unsettled: read again next run). */
  private deadLetterError: unknown = undefined;
  /** Serialises reads and appends, so concurrent fetches or dispatches never interleave. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: FileConnectorOptions<P>) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('FileConnector needs a path to a JSON-lines file');
    }
    const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new TypeError(
        `FileConnector maxLineBytes must be a positive integer (bytes), got ${String(maxLineBytes)}`,
      );
    }
    this.maxLineBytes = maxLineBytes;
    this.cursor = new FileCursor(options.cursorPath ?? `${options.path}.cursor`, options.path);
    this.deadLetterPath = options.deadLetterPath ?? `${options.path}.dead.jsonl`;
    this.retries = new RetryFile(options.retryPath ?? `${options.path}.retry.jsonl`);
    this.parse = options.parse ?? ((line) => JSON.parse(line) as P);
    this.stringify = options.stringify ?? ((payload) => JSON.stringify(payload));
    this.name = basename(options.path);
    this.destination = this.name;
  }

  /**
   * Hands out up to `request.size` lines: released ones first, then the next ones of the file.
   * Unsubscribing before a line was emitted leaves it for the next fetch.
   */
  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      this.serially(async () => {
        if (subscriber.closed) return;
        await this.retries.load();
        const handed = this.handOutDue(request.size, subscriber);
        await this.fill(request.size - handed, subscriber);
        this.handOut(request.size - handed, subscriber);
      }).then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> | void {
    const record = this.retried.get(transaction);
    if (record !== undefined && this.retriesOut.has(record.id)) {
      return this.settleRetried(transaction, record, decision);
    }
    const entry = this.entries.get(transaction);
    const ledger = this.ledger;
    if (entry === undefined || ledger === null || !ledger.outstanding(entry)) {
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from ${this.name}`,
      );
    }
    switch (decision.type) {
      case 'release':
        if ((decision.delay ?? 0) > 0) {
          ledger.settling(entry);
          return this.holdBack(transaction, decision.delay ?? 0).then(
            () => this.settled(ledger, entry),
            (error: unknown) => {
              throw new SettlementError(
                `${transaction.id} could not be held back in ${this.retries.path} (${describeError(error)}); ` +
                  'it stays unsettled: the cursor stops before it, so the next run reads it again',
                { cause: error },
              );
            },
          );
        }
        ledger.release(entry);
        this.redelivery.push(transaction);
        return;
      case 'ack':
        this.settled(ledger, entry);
        return;
      case 'deadLetter':
        ledger.settling(entry);
        return this.deadLetter(transaction, decision.error).then(
          () => this.settled(ledger, entry),
          (error: unknown) => {
            throw new SettlementError(
              `${transaction.id} could not be dead-lettered to ${this.deadLetterPath} (${describeError(error)}); ` +
                'it stays unsettled: the cursor stops before it, so the next run reads it again',
              { cause: error },
            );
          },
        );
    }
  }

  /** Writes a transaction to the retry file, due in `delay` ms; resolves once it is there. */
  private async holdBack(transaction: Transaction<P>, delay: number): Promise<void> {
    const line = transaction.metadata['line'];
    return this.retries.put({
      id: transaction.id,
      due: Date.now() + delay,
      deliveries: deliveryCountOf(transaction),
      line: typeof line === 'number' ? line : null,
      text: this.stringify(transaction.payload),
      carried: carriedMetadata(transaction),
    });
  }

  /** Settles a transaction handed out from the retry file. */
  private async settleRetried(
    transaction: Transaction<P>,
    record: RetryRecord,
    decision: SettleDecision,
  ): Promise<void> {
    this.retriesOut.delete(record.id);
    switch (decision.type) {
      case 'ack':
        return this.retries.remove(record.id);
      case 'release':
        if ((decision.delay ?? 0) > 0) {
          return this.retries.put({
            ...record,
            due: Date.now() + (decision.delay ?? 0),
            deliveries: record.deliveries + 1,
          });
        }
        // Due already: the next fetch hands it out again.
        return this.retries.put({ ...record, deliveries: record.deliveries + 1 });
      case 'deadLetter':
        await this.deadLetter(transaction, decision.error);
        return this.retries.remove(record.id);
    }
  }

  /**
   * Appends the batch, one line per payload, with a single write (starting a new line first
   * when the file ends without one, and creating missing folders). A batch whose `signal`
   * aborted while it waited for an earlier read or append is not written (rejects with
   * `signal.reason`); a write that started is finished, never cut into a partial line.
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

  /**
   * Finds a line by its transaction id (`<file name>:<line>@<run>`, of any run, or
   * `<file name>:<line>`), reading the file; the transaction has the id asked for.
   */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(async () => {
      const match = /^(.+):(\d+)(?:@[0-9a-f]+)?$/.exec(id);
      const line = match?.[1] === this.name ? Number(match[2]) : NaN;
      if (!Number.isSafeInteger(line) || line < 1) return undefined;
      const handle = await open(this.options.path, 'r');
      try {
        const reader = new LineReader(handle, 0, 0, this.maxLineBytes);
        for (let read = await reader.next(); read !== undefined; read = await reader.next()) {
          if (read.number === line) return this.lineTransaction(read, id);
        }
        return undefined;
      } finally {
        await handle.close();
      }
    });
  }

  health(): Observable<ConnectorHealth> {
    return defer(() => {
      if (this.cursorError !== undefined) {
        return of<ConnectorHealth>({
          healthy: false,
          state: 'cursor-failing',
          detail: `the cursor ${this.cursor.path} cannot be written: ${describeError(this.cursorError)}`,
        });
      }
      if (this.deadLetterError !== undefined) {
        return of<ConnectorHealth>({
          healthy: false,
          state: 'dead-letter-failing',
          detail: `${this.deadLetterPath} cannot be appended to: ${describeError(this.deadLetterError)}`,
        });
      }
      return of<ConnectorHealth>({ healthy: !this.closed, state: this.closed ? 'closed' : 'open' });
    });
  }

  /**
   * The dead-letter file to list, show, redrive (appended to this file, with their ids and
   * trace context) and purge; see {@link FileDeadLetters}.
   */
  deadLetters(): FileDeadLetters<P> {
    return new FileDeadLetters(this.deadLetterPath, {
      render: (payload) => this.render(payload),
      append: (text) => this.serially(() => this.appendText(text)),
    });
  }

  /** Writes the cursor and closes the file; unsettled lines will be read again next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exclusive;
    await this.deadLetterWrites;
    await this.retries.flushed();
    await this.cursorWrite;
    try {
      if (this.cursorDirty) await this.writeCursor();
    } finally {
      const handle = this.handle;
      this.handle = null;
      this.reader = null;
      await handle?.close();
    }
  }

  private async append(transactions: readonly Transaction<P>[]): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
    const failed: { transaction: Transaction<P>; error: unknown }[] = [];
    let text = '';
    for (const transaction of transactions) {
      try {
        refuseNotBefore(transaction, 'the file connector');
        text += `${this.render(transaction.payload)}\n`;
      } catch (error) {
        failed.push({ transaction, error });
      }
    }
    await this.appendText(text);
    return { failed };
  }

  /** A payload as one line, without its newline. */
  private render(payload: P): string {
    const line = this.stringify(payload);
    if (line.includes('\n')) throw new PayloadDecodeError('a rendered payload spans lines');
    return line;
  }

  /** Appends complete lines with one write, starting a new line first when the file ends without one. */
  private async appendText(text: string): Promise<void> {
    if (text === '') return;
    if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
    const separator = (await endsWithoutNewline(this.options.path)) ? '\n' : '';
    await appendFileCreatingFolders(this.options.path, `${separator}${text}`);
  }

  /** Runs `work` after every earlier read or append finished. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.exclusive.then(work, work);
    this.exclusive = result.catch(noop);
    return result;
  }

  /**
   * Reads lines until `size` wait to be handed out, the file has no more complete lines or
   * the fetch was cancelled (what was read then stays for the next fetch).
   */
  private async fill(size: number, subscriber: Subscriber<Transaction<P>>): Promise<void> {
    if (this.closed) throw new ConnectorClosedError(`${this.name} is closed`);
    // Lines already read are handed out without I/O: a loop of fetches and quick handlers
    // may then run on promise callbacks alone, and the cursor write (file I/O) would wait
    // until the work runs out. A fetch lets the event loop run every few milliseconds while
    // a cursor write is under way, so the cursor keeps up (what a crash reads again).
    if (this.cursorSaving && performance.now() - this.lastYield > yieldEveryMs) {
      await yieldToEventLoop();
      this.lastYield = performance.now();
    }
    const reader = this.reader ?? (await this.openOnce());
    while (this.redelivery.length + this.readAhead.length < size && !subscriber.closed) {
      const line = await reader.next();
      if (line === undefined) {
        this.reportFragment(reader);
        return;
      }
      const transaction = this.lineTransaction(line, `${this.name}:${line.number}@${this.run}`);
      if (transaction !== undefined) {
        this.readAhead.push({ transaction, resume: { line: line.number, offset: line.end } });
      }
    }
  }

  /**
   * Without `streaming`, when nothing else is left, the incomplete last line (no newline yet)
   * is reported once as undecodable; settling it leaves the cursor before it.
   */
  private reportFragment(reader: LineReader): void {
    if (this.options.streaming === true) return;
    if (this.redelivery.length + this.readAhead.length > 0) return;
    const fragment = reader.fragment();
    if (fragment === undefined || fragment.start === this.reportedFragment) return;
    const transaction = this.fragmentTransaction(fragment);
    if (transaction === undefined) return;
    this.reportedFragment = fragment.start;
    this.readAhead.push({
      transaction,
      resume: { line: fragment.number - 1, offset: fragment.start },
    });
  }

  /** Emits up to `size` transactions of the retry file that are due; returns how many. */
  private handOutDue(size: number, subscriber: Subscriber<Transaction<P>>): number {
    if (this.retries.size === 0) return 0;
    let emitted = 0;
    for (const record of this.retries.due(Date.now(), size, this.retriesOut)) {
      if (subscriber.closed) break;
      const transaction = this.retriedTransaction(record);
      this.retried.set(transaction, record);
      this.retriesOut.add(record.id);
      emitted++;
      subscriber.next(transaction);
    }
    return emitted;
  }

  /** The transaction of a retry record: its id, payload parsed again, the delivery count. */
  private retriedTransaction(record: RetryRecord): Transaction<P> {
    const metadata = {
      ...record.carried,
      file: this.options.path,
      line: record.line,
      deliveryCount: record.deliveries + 1,
      retryFile: this.retries.path,
    };
    try {
      return createTransaction(this.parse(record.text), { id: record.id, metadata });
    } catch (error) {
      return markUndecodable(
        createTransaction(record.text as P, { id: record.id, metadata }),
        new PayloadDecodeError(
          `${record.id} in ${this.retries.path} could not be parsed again: ${describeError(error)}`,
        ),
      );
    }
  }

  /** Emits up to `size` waiting lines while the subscriber listens, recording each in the ledger. */
  private handOut(size: number, subscriber: Subscriber<Transaction<P>>): void {
    const ledger = this.ledger as LineLedger;
    // Lines released while this fetch emits wait for the next one.
    let again = Math.min(size, this.redelivery.length);
    for (let emitted = 0; emitted < size && !subscriber.closed; emitted++) {
      let transaction: Transaction<P>;
      if (again > 0) {
        again--;
        transaction = this.redelivery.shift() as Transaction<P>;
        ledger.handOutAgain(this.entries.get(transaction) as LedgerEntry);
      } else {
        const ready = this.readAhead.shift();
        if (ready === undefined) return;
        transaction = ready.transaction;
        this.entries.set(transaction, ledger.handOut(ready.resume));
      }
      subscriber.next(transaction);
    }
  }

  private settled(ledger: LineLedger, entry: LedgerEntry): void {
    if (ledger.settle(entry)) this.saveCursor();
  }

  /** Appends the dead letter after the ones before it; rejects when it could not be written. */
  private deadLetter(transaction: Transaction<P>, error: TransactionError): Promise<void> {
    const line = transaction.metadata['line'];
    const raw = this.rawBytes.get(transaction);
    const base = {
      line,
      id: transaction.id,
      error: error.message,
      ...(error.stage === undefined ? {} : { stage: error.stage }),
      category: error.category,
      deadLetteredAt: new Date().toISOString(),
      deliveries: deliveryCountOf(transaction),
      metadata: deadLetterMetadata(transaction),
    };
    const extra = raw === undefined ? {} : { base64: raw.toString('base64') };
    let text: string;
    try {
      text = JSON.stringify({ ...base, payload: transaction.payload, ...extra });
    } catch (problem) {
      text = JSON.stringify({
        ...base,
        payload: null,
        payloadError: `the payload cannot be written as JSON: ${describeError(problem)}`,
      });
    }
    const write = this.deadLetterWrites.then(() =>
      appendFileCreatingFolders(this.deadLetterPath, `${text}\n`),
    );
    this.deadLetterWrites = write.then(
      () => {
        this.deadLetterError = undefined;
      },
      (problem: unknown) => {
        this.deadLetterError = problem;
      },
    );
    return write;
  }

  /** The transaction of a complete line; `undefined` for a blank one. */
  private lineTransaction(line: FileLine, lineId: string): Transaction<P> | undefined {
    let id = lineId;
    let metadata: Readonly<Record<string, unknown>> = {
      file: this.options.path,
      line: line.number,
    };
    const where = `line ${line.number} of ${this.name}`;
    if (line.tooLong) {
      return this.undecodable(
        id,
        metadata,
        `${line.bytes.toString('utf8')}…`,
        `${where} is ${line.length} bytes long, more than maxLineBytes (${this.maxLineBytes}): split it, or raise maxLineBytes`,
      );
    }
    if (!isUtf8(line.bytes)) {
      const transaction = this.undecodable(
        id,
        metadata,
        line.bytes.toString('utf8'),
        `${where} is not valid UTF-8 (its bytes are in the dead letter's base64)`,
      );
      this.rawBytes.set(transaction, Buffer.from(line.bytes));
      return transaction;
    }
    let text = line.bytes.toString('utf8');
    if (text.trim() === '') return undefined;
    const redriven = readRedriveLine(text);
    if (redriven !== undefined) {
      id = redriven.envelope.id ?? id;
      metadata = { ...metadata, ...redriveMetadata(redriven.envelope) };
      text = redriven.line;
    }
    try {
      return createTransaction(this.parse(text), { id, metadata });
    } catch (error) {
      return this.undecodable(
        id,
        metadata,
        text,
        `${where} is not valid: ${describeError(error)}`,
        error,
      );
    }
  }

  /** The report of an incomplete last line; `undefined` when it is blank so far. */
  private fragmentTransaction(fragment: LineFragment): Transaction<P> | undefined {
    const text = fragment.bytes.toString('utf8');
    if (fragment.length <= this.maxLineBytes && text.trim() === '') return undefined;
    return this.undecodable(
      `${this.name}:${fragment.number}@${this.run}:incomplete`,
      { file: this.options.path, line: fragment.number },
      text,
      `line ${fragment.number} of ${this.name} does not end with a newline: it is incomplete ` +
        '(a writer may still be appending to it) and stays unread: the next run reads it once it ends ' +
        'with a newline. End the file with a newline, or use streaming: true to wait for the rest',
    );
  }

  private undecodable(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    payload: string,
    message: string,
    cause?: unknown,
  ): Transaction<P> {
    return markUndecodable(
      createTransaction(payload as P, { id, metadata }),
      new PayloadDecodeError(message, cause === undefined ? undefined : { cause }),
    );
  }

  private async openOnce(): Promise<LineReader> {
    const handle = await open(this.options.path, 'r');
    let position: FilePosition;
    try {
      position = await this.cursor.load(handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.handle = handle;
    this.ledger = new LineLedger(position);
    this.reader = new LineReader(handle, position.offset, position.line, this.maxLineBytes);
    return this.reader;
  }

  /**
   * Writes the cursor soon: one write at a time, the next one right after it while the
   * watermark keeps moving. A failed write is kept for `health()` (and retried at the next
   * move or at `close`).
   */
  private saveCursor(): void {
    this.cursorDirty = true;
    if (this.cursorSaving) return;
    this.cursorSaving = true;
    this.cursorWrite = (async () => {
      try {
        while (this.cursorDirty) {
          try {
            await this.writeCursor();
            this.cursorError = undefined;
          } catch (error) {
            this.cursorError = error;
            this.cursorDirty = true;
            return;
          }
        }
      } finally {
        this.cursorSaving = false;
      }
    })();
  }

  private async writeCursor(): Promise<void> {
    const position = (this.ledger as LineLedger).watermark;
    this.cursorDirty = false;
    if (this.handle !== null) return this.cursor.save(position, this.handle);
    // Settled after close: the cursor is fingerprinted through a handle of its own.
    const handle = await open(this.options.path, 'r');
    try {
      await this.cursor.save(position, handle);
    } finally {
      await handle.close();
    }
  }
}

/** What a retry-later keeps of a transaction's metadata: its trace context and redrive origin. */
function carriedMetadata(transaction: Transaction): Record<string, string> {
  const carried: Record<string, string> = {};
  for (const key of [...traceMetadataKeys, redriveOfKey]) {
    const value = transaction.metadata[key];
    if (typeof value === 'string') carried[key] = value;
  }
  return carried;
}

/**
 * The metadata a dead letter keeps: the transaction's entries with plain values (file, line,
 * trace context, `ergon-redrive-of`…), plus, when it carried no trace context, the context its
 * settlement runs in (the engine settles in the failed transaction's context), so that a
 * redrive continues the trace of the failure.
 */
function deadLetterMetadata(transaction: Transaction): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(transaction.metadata)) {
    if (typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value)) {
      metadata[key] = value;
    }
  }
  if (typeof metadata['traceparent'] !== 'string') propagation.inject(context.active(), metadata);
  return metadata;
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
