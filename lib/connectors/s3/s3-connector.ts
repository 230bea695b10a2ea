import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import log from 'loglevel';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { defer, type Observable, type Subscriber } from 'rxjs';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import {
  ConnectorClosedError,
  DeliveryLostError,
  type TransactionError,
} from '../../core/errors.js';
import { refuseNotBefore } from '../../core/delivery-schedule.js';
import type { Logger } from '../../core/logging.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { describeError } from '../../core/renderers.js';
import { partitionOf } from '../../core/transaction-key.js';
import type { Transaction } from '../../core/transaction.js';
import { noop, waitAtMost } from '../../core/waiting.js';
import {
  awsAddress,
  awsClientSettings,
  fetchObservable,
  probeHealth,
  refuseConnectionWithClient,
} from '../aws/aws-connector-skeleton.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';
import { AwsRequests, awsErrorName, httpStatusOf } from '../aws/aws-requests.js';
import { S3LineError } from './errors.js';
import { ObjectClaims, type HeldClaim, type ObjectCursor } from './internal/object-claims.js';
import {
  failedMetadata,
  lineTransaction,
  objectTransaction,
  outboundMetadata,
  type ObjectSource,
} from './internal/s3-object.js';
import {
  s3ConnectorConfig,
  type S3ConnectorConfig,
  type S3ConnectorConfigInput,
} from './s3-connector-config.js';

/** How long `close` waits for S3 to take back the claims this connector holds. */
const closeGrace = 2000;
/** Objects written at once by `dispatch` in object mode. */
const putConcurrency = 16;
/** Keys per listing page. */
const listPage = 1000;

/** One line (or whole object) handed out, in read order. */
interface Entry {
  /** The byte offset just past it (its line break included). */
  readonly end: number;
  readonly line: number;
  state: 'open' | 'settled' | 'released';
}

/** An object this connector has claimed and not finished. */
interface ClaimedObject {
  readonly source: ObjectSource;
  readonly claim: HeldClaim;
  readonly size: number;
  /** The settled prefix: where a restart resumes. */
  cursor: ObjectCursor;
  /** Handed-out entries not yet past the cursor, in read order. */
  readonly entries: Entry[];
  /** Bytes read so far, and the line count up to there. */
  readOffset: number;
  readLine: number;
  /** A line cut at the end of the last chunk. */
  partial: Buffer;
  /** Complete lines read but not handed out yet. */
  readonly buffered: { body: Buffer; end: number; line: number }[];
  /** Every line was read (or, in object mode, the object). */
  exhausted: boolean;
  /** A line was released: hand out no more; give the claim back once nothing is open. */
  releasing: boolean;
  /** Another worker took the claim over (this one stalled past `claimTtl`). */
  lost: boolean;
  /** Claim writes of this object, one at a time. */
  chain: Promise<unknown>;
}

function notFound(error: unknown): boolean {
  const name = awsErrorName(error);
  return httpStatusOf(error) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/** `bucket/key` as `CopySource` wants it: the key URL-encoded, its slashes kept. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/**
 * Objects in an S3 bucket (or an S3-compatible server) as a source and destination of
 * transactions, through `@aws-sdk/client-s3`.
 *
 * - `fetch` lists `prefix` and yields one transaction per object (`format: 'object'`), or one
 *   per line of JSON-lines objects (`format: 'jsonLines'`, read in ranged chunks of
 *   `readChunk` bytes, so an object of any size takes bounded memory), never more than asked.
 * - Before an object is read it is **claimed**: a claim object `<claimPrefix><key>` written
 *   with `If-None-Match: *`, so two workers never process it at once; the claim is renewed
 *   (`If-Match`) every third of `claimTtl` while held and records how far its lines are
 *   settled, so a worker that died is taken over after `claimTtl` from where it stopped.
 *   Servers without conditional writes: `claims: false` plus `partition` by key hash.
 * - `settle`: `ack` of an object (of its last line, in JSON-lines mode) moves it to
 *   `<donePrefix><name>` (or deletes it, `onAck: 'delete'`); `deadLetter` moves it to
 *   `<failedPrefix><name>` with the error as user metadata (`ergon-error`,
 *   `ergon-error-category`, `ergon-error-stage`) — a failed line is written alone to
 *   `<failedPrefix><name>#<line>`; `release` leaves the object where it is and hands the
 *   claim back at once.
 * - `dispatch` writes one object per transaction (`<prefix><id><suffix>`, with the id, the
 *   ordering key and the trace context as user metadata), or, in JSON-lines mode, one object
 *   per batch with a line per transaction.
 *
 * @example
 * ```ts
 * const inbox = new S3Connector<Order>({ bucket: 'orders', prefix: 'incoming/', format: 'jsonLines' });
 * consume(inbox, consumerTask({ process: (tx) => ship(tx.payload) })).subscribe();
 * ```
 */
export class S3Connector<P = unknown> implements Connector<P> {
  readonly system = 'aws_s3';
  /**
   * None: an object is claimed and settled where it lies, and this connector holds none back
   * for a later time. A `RetryLaterError` is dead-lettered (moved under `failedPrefix`, with
   * a `DelayedReleaseUnsupportedError`), `process.retry.durableAfter` is refused by `consume`,
   * and `dispatch` refuses a future `metadata.notBefore`.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: false,
    notBefore: false,
    priority: false,
  });
  /** `bucket/prefix`. */
  readonly destination: string;
  readonly config: S3ConnectorConfig<P>;
  /** The S3 client this connector sends through. */
  readonly client: S3Client;
  /** This worker's name in the claims it writes. */
  readonly owner: string;
  private readonly ownsClient: boolean;
  private readonly codec: PayloadCodec<P>;
  private readonly requests: AwsRequests;
  private readonly claims: ObjectClaims;
  /** Claimed, unfinished objects by key. */
  private readonly objects = new Map<string, ClaimedObject>();
  /** Fetched, unsettled transactions. */
  private readonly deliveries = new Map<Transaction<P>, { object: ClaimedObject; entry: Entry }>();
  /** Where the next listing starts (after this key); `''` from the top. */
  private listAfter = '';
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private closing: Promise<void> | null = null;

  /**
   * @param input the connector config (see {@link S3ConnectorConfigInput}).
   * @param client a shared `S3Client` (destroyed by its owner, not by this connector); without
   * one the connector makes its own from `input.connection` and destroys it on `close`.
   * @param options.logger where outages are reported (default: the loglevel logger `ergon.s3`).
   * @throws PolicyError when `input` is invalid, or has `connection` while `client` is given.
   */
  constructor(
    input: S3ConnectorConfigInput<P>,
    client?: S3Client,
    options: { readonly logger?: Logger } = {},
  ) {
    this.config = s3ConnectorConfig(input);
    refuseConnectionWithClient('s3 connector config', 'S3Client', client, input.connection);
    const { connection, bucket, prefix, claimPrefix, claimTtl, claims } = this.config;
    this.destination = `${bucket}/${prefix}`;
    this.codec = this.config.codec;
    this.owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const logger = options.logger ?? log.getLogger('ergon.s3');
    this.ownsClient = client === undefined;
    this.client =
      client ??
      new S3Client({
        ...awsClientSettings(connection),
        forcePathStyle: this.config.pathStyle ?? connection.endpoint !== null,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    this.requests = new AwsRequests('S3', awsAddress(connection, 's3'), connection, logger);
    this.claims = new ObjectClaims(
      this.client,
      this.requests,
      bucket,
      claimPrefix,
      this.owner,
      claimTtl,
      claims,
    );
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Fetched transactions not settled yet. */
  get unsettled(): number {
    return this.deliveries.size;
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return fetchObservable(
      's3',
      () => this.closed,
      (subscriber, signal) => this.fetchInto(subscriber, request.size, signal),
    );
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const held = takeDelivery(this.deliveries, transaction);
    if (held === undefined) return notHeld(transaction);
    if (this.deliveries.size === 0) this.stopHeartbeat();
    const { object, entry } = held;
    const where = `${object.source.objectKey}${this.config.format === 'jsonLines' ? ` line ${entry.line}` : ''}`;
    if (this.closed || object.lost) {
      return Promise.reject(
        new DeliveryLostError(
          this.closed
            ? `the connector closed before ${where} was settled: its claim was handed back`
            : `the claim on ${object.source.objectKey} was taken over by another worker (this one stalled past claimTtl): ${where} is processed there again`,
        ),
      );
    }
    return this.settleEntry(object, entry, transaction, decision).catch((error: unknown) => {
      throw new DeliveryLostError(
        `could not ${decision.type} ${where} (${describeError(error)}): its claim lapses after claimTtl and it is processed again`,
        { cause: error },
      );
    });
  }

  /**
   * Writes the batch: one object per transaction (`<prefix><id><suffix>`, at most 16 at once),
   * or in JSON-lines mode one object `<prefix><time>-<first id><suffix>` with a line per
   * transaction. A transaction whose payload cannot be encoded, whose object S3 refused, or
   * with a future `metadata.notBefore` (a `ScheduleError`: S3 cannot hold it back), fails alone
   * (in the report). Rewriting an object of the same id is harmless, so a retried
   * batch never duplicates a transaction. `context.signal` stops what was not written yet.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError('s3 connector is closed');
    const signal = context?.signal;
    signal?.throwIfAborted();
    return this.config.format === 'jsonLines'
      ? this.dispatchLines(transactions, signal)
      : this.dispatchObjects(transactions, signal);
  }

  /** Objects waiting under `prefix` (claimed ones included; done, failed and claims excluded). */
  count(): Observable<number> {
    return defer(async () => {
      let total = 0;
      let token: string | undefined;
      do {
        const page = await this.list('', token);
        total += page.keys.length;
        token = page.next;
      } while (token !== undefined);
      return total;
    });
  }

  /** One `HeadBucket` without retries: `connected`, or `unreachable` with the error. */
  health(): Observable<ConnectorHealth> {
    return probeHealth(
      () => this.closed,
      () =>
        this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }), {
          abortSignal: AbortSignal.timeout(this.config.connection.connectTimeout),
        }),
    );
  }

  /**
   * Stops renewing claims, hands every claim back (with its cursor, so the next owner resumes
   * where this one stopped; unsettled transactions' later settle rejects with
   * `DeliveryLostError`) and destroys the connector's own client. Takes about 2 s at most
   * when S3 does not answer. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const handBack = [...this.objects.values()].map((object) =>
      this.chained(object, () => this.claims.giveUp(object.claim, object.cursor)).catch(noop),
    );
    this.objects.clear();
    await waitAtMost(Promise.all(handBack), closeGrace);
    this.requests.close(new ConnectorClosedError('s3 connector closed'));
    if (this.ownsClient) this.client.destroy();
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    signal: AbortSignal,
  ): Promise<void> {
    let emitted = 0;
    const want = (): number => (signal.aborted || subscriber.closed ? 0 : size - emitted);
    for (const object of this.objects.values()) {
      if (want() <= 0) return;
      emitted += await this.emitLines(subscriber, object, want(), signal);
    }
    let wrapped = this.listAfter === '';
    let token: string | undefined;
    while (want() > 0) {
      const page = await this.list(this.listAfter, token, signal);
      for (const key of page.keys) {
        if (want() <= 0) return;
        this.listAfter = key;
        if (this.objects.has(key)) continue;
        emitted += await this.claimAndEmit(subscriber, key, want(), signal);
      }
      token = page.next;
      if (token !== undefined) continue;
      this.listAfter = '';
      if (wrapped) return;
      wrapped = true;
    }
  }

  /** One listing page of object keys to process: claims, done and failed objects left out. */
  private async list(
    after: string,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ keys: string[]; next: string | undefined }> {
    const { bucket, prefix, donePrefix, failedPrefix, claimPrefix, partition } = this.config;
    const reply = await this.requests.run(
      () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            MaxKeys: listPage,
            ...(token === undefined
              ? after === ''
                ? {}
                : { StartAfter: after }
              : { ContinuationToken: token }),
          }),
          { abortSignal: signal },
        ),
      signal,
    );
    const keys: string[] = [];
    for (const { Key: key } of reply.Contents ?? []) {
      if (key === undefined || key.endsWith('/')) continue;
      if (key.startsWith(donePrefix) || key.startsWith(failedPrefix) || key.startsWith(claimPrefix))
        continue;
      if (partition !== null && partitionOf(key, partition.count) !== partition.index) continue;
      keys.push(key);
    }
    return {
      keys,
      next: reply.IsTruncated === true ? reply.NextContinuationToken : undefined,
    };
  }

  /** Claims `key` and emits what it holds (up to `max`); 0 when another worker has it. */
  private async claimAndEmit(
    subscriber: Subscriber<Transaction<P>>,
    key: string,
    max: number,
    signal: AbortSignal,
  ): Promise<number> {
    const claim = await this.claims.take(key, signal);
    if (claim === null) return 0;
    let head;
    try {
      head = await this.requests.run(
        () => this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key })),
        signal,
      );
    } catch (error) {
      // Finished (moved) by another worker between the listing and the claim.
      if (notFound(error)) {
        await this.claims.remove(claim).catch(noop);
        return 0;
      }
      await this.claims.giveUp(claim, claim.resumeAt).catch(noop);
      throw error;
    }
    const object: ClaimedObject = {
      source: {
        bucket: this.config.bucket,
        objectKey: key,
        etag: head.ETag ?? '',
        objectMetadata: head.Metadata ?? {},
      },
      claim,
      size: head.ContentLength ?? 0,
      cursor: claim.resumeAt,
      entries: [],
      readOffset: claim.resumeAt.offset,
      readLine: claim.resumeAt.line,
      partial: Buffer.alloc(0),
      buffered: [],
      exhausted: false,
      releasing: false,
      lost: false,
      chain: Promise.resolve(),
    };
    this.objects.set(key, object);
    this.heartbeat ??= this.startHeartbeat();
    // A cancelled fetch keeps the claim: the next fetch hands the object out first.
    if (signal.aborted || subscriber.closed) {
      return 0;
    }
    return this.emitLines(subscriber, object, max, signal);
  }

  /** Hands out up to `max` transactions of `object` (the object itself in object mode). */
  private async emitLines(
    subscriber: Subscriber<Transaction<P>>,
    object: ClaimedObject,
    max: number,
    signal: AbortSignal,
  ): Promise<number> {
    if (object.releasing || object.lost) return 0;
    if (this.config.format === 'object') {
      if (object.exhausted) return 0;
      let body: Uint8Array;
      try {
        body = await this.read(object, undefined, signal);
      } catch (error) {
        // Gone (or replaced: its ETag changed) since it was claimed: let it go.
        if (!notFound(error) && httpStatusOf(error) !== 412) throw error;
        this.objects.delete(object.source.objectKey);
        await this.chained(object, () => this.claims.remove(object.claim)).catch(noop);
        return 0;
      }
      object.exhausted = true;
      const entry: Entry = { end: object.size, line: 1, state: 'open' };
      object.entries.push(entry);
      return this.emit(
        subscriber,
        object,
        entry,
        objectTransaction(object.source, body, this.codec),
      );
    }
    let emitted = 0;
    while (emitted < max && !signal.aborted && !subscriber.closed) {
      const next = object.buffered.shift();
      if (next !== undefined) {
        const entry: Entry = { end: next.end, line: next.line, state: 'open' };
        object.entries.push(entry);
        emitted += this.emit(
          subscriber,
          object,
          entry,
          lineTransaction(object.source, next.line, next.body, this.codec),
        );
        continue;
      }
      if (object.exhausted) break;
      await this.readChunk(object, signal);
    }
    // Only blank lines left: finished here. A failed finish lets the claim lapse (processed again).
    this.finishIfDone(object).catch(noop);
    return emitted;
  }

  private emit(
    subscriber: Subscriber<Transaction<P>>,
    object: ClaimedObject,
    entry: Entry,
    transaction: Transaction<P>,
  ): number {
    this.deliveries.set(transaction, { object, entry });
    subscriber.next(transaction);
    return 1;
  }

  /** Reads the next chunk of a JSON-lines object into its buffered lines. */
  private async readChunk(object: ClaimedObject, signal: AbortSignal): Promise<void> {
    const start = object.readOffset;
    const end = Math.min(object.size, start + this.config.readChunk) - 1;
    const bytes =
      start < object.size
        ? await this.read(object, `bytes=${start}-${end}`, signal)
        : new Uint8Array();
    object.readOffset = start + bytes.length;
    const text = Buffer.concat([object.partial, bytes]);
    let lineStart = 0;
    const offset = start - object.partial.length;
    for (;;) {
      const lineEnd = text.indexOf(0x0a, lineStart);
      if (lineEnd < 0) break;
      this.addLine(object, text.subarray(lineStart, lineEnd), offset + lineEnd + 1);
      lineStart = lineEnd + 1;
    }
    object.partial = Buffer.from(text.subarray(lineStart));
    if (object.readOffset >= object.size || bytes.length === 0) {
      if (object.partial.length > 0) this.addLine(object, object.partial, object.size);
      object.partial = Buffer.alloc(0);
      object.exhausted = true;
    }
  }

  /** Queues a line; a blank one is settled at once (it only moves the cursor). */
  private addLine(object: ClaimedObject, body: Buffer, end: number): void {
    const line = ++object.readLine;
    const trimmed = body.length > 0 && body[body.length - 1] === 0x0d ? body.subarray(0, -1) : body;
    if (trimmed.toString('utf8').trim() === '') {
      object.entries.push({ end, line, state: 'settled' });
      return;
    }
    object.buffered.push({ body: Buffer.from(trimmed), end, line });
  }

  private async read(
    object: ClaimedObject,
    range: string | undefined,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const { bucket } = this.config;
    const reply = await this.requests.run(
      () =>
        this.client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: object.source.objectKey,
            ...(range === undefined ? {} : { Range: range }),
            ...(object.source.etag === '' ? {} : { IfMatch: object.source.etag }),
          }),
          { abortSignal: signal },
        ),
      signal,
    );
    return (await reply.Body?.transformToByteArray()) ?? new Uint8Array();
  }

  private async settleEntry(
    object: ClaimedObject,
    entry: Entry,
    transaction: Transaction<P>,
    decision: SettleDecision,
  ): Promise<void> {
    const lines = this.config.format === 'jsonLines';
    switch (decision.type) {
      case 'ack':
        entry.state = 'settled';
        break;
      case 'release':
        entry.state = 'released';
        object.releasing = true;
        break;
      case 'deadLetter':
        if (lines) {
          await this.writeFailedLine(object, entry, transaction, decision.error);
          entry.state = 'settled';
        } else {
          await this.moveObject(
            object,
            this.config.failedPrefix,
            failedMetadata(object.source, decision.error),
          );
          object.exhausted = true;
          this.objects.delete(object.source.objectKey);
          await this.chained(object, () => this.claims.remove(object.claim));
          return;
        }
        break;
    }
    this.advance(object);
    await this.finishIfDone(object);
  }

  /** Moves the cursor over the settled entries at the head. */
  private advance(object: ClaimedObject): void {
    while (object.entries[0]?.state === 'settled') {
      const entry = object.entries.shift() as Entry;
      object.cursor = { offset: entry.end, line: entry.line };
    }
  }

  /**
   * Finishes an object nothing of which is open any more: every line settled → ack action
   * and claim removed; a line released → the claim handed back with the cursor.
   */
  private finishIfDone(object: ClaimedObject): Promise<void> {
    this.advance(object);
    const open = object.entries.some((entry) => entry.state === 'open');
    if (open || this.objects.get(object.source.objectKey) !== object) return Promise.resolve();
    if (object.releasing) {
      this.objects.delete(object.source.objectKey);
      return this.chained(object, () => this.claims.giveUp(object.claim, object.cursor));
    }
    if (!object.exhausted || object.buffered.length > 0 || object.entries.length > 0) {
      return Promise.resolve();
    }
    this.objects.delete(object.source.objectKey);
    return this.chained(object, async () => {
      if (this.config.onAck === 'move') await this.moveObject(object, this.config.donePrefix);
      else await this.deleteObject(object.source.objectKey);
      await this.claims.remove(object.claim);
    });
  }

  /** Copies the object under `toPrefix` (with `metadata` instead of its own, when given), then deletes it. */
  private async moveObject(
    object: ClaimedObject,
    toPrefix: string,
    metadata?: Record<string, string>,
  ): Promise<void> {
    const { bucket, prefix } = this.config;
    const key = object.source.objectKey;
    await this.requests.run(() =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: `${toPrefix}${key.slice(prefix.length)}`,
          CopySource: copySource(bucket, key),
          ...(metadata === undefined ? {} : { Metadata: metadata, MetadataDirective: 'REPLACE' }),
        }),
      ),
    );
    await this.deleteObject(key);
  }

  private async deleteObject(key: string): Promise<void> {
    await this.requests.run(() =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key })),
    );
  }

  private async writeFailedLine(
    object: ClaimedObject,
    entry: Entry,
    transaction: Transaction<P>,
    error: TransactionError,
  ): Promise<void> {
    const { bucket, prefix, failedPrefix } = this.config;
    const key = object.source.objectKey;
    const body =
      typeof transaction.payload === 'string'
        ? transaction.payload
        : Buffer.from(this.codec.encode(transaction.payload));
    await this.requests.run(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${failedPrefix}${key.slice(prefix.length)}#${entry.line}`,
          Body: body,
          Metadata: failedMetadata(object.source, error, entry.line),
        }),
      ),
    );
  }

  /** Runs the claim operations of one object one after another. */
  private chained<T>(object: ClaimedObject, operation: () => Promise<T>): Promise<T> {
    const run = object.chain.then(operation, operation);
    object.chain = run.catch(noop);
    return run;
  }

  /** Renews every claim held (with its cursor), every third of `claimTtl`. */
  private startHeartbeat(): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      for (const object of this.objects.values()) {
        void this.chained(object, async () => {
          if (this.objects.get(object.source.objectKey) !== object) return;
          if (!(await this.claims.renew(object.claim, object.cursor))) {
            object.lost = true;
            this.objects.delete(object.source.objectKey);
          }
        }).catch(noop);
      }
    }, this.config.claimTtl / 3);
    timer.unref();
    return timer;
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null && this.objects.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private async dispatchObjects(
    transactions: readonly Transaction<P>[],
    signal: AbortSignal | undefined,
  ): Promise<DispatchReport<P>> {
    const { bucket, prefix } = this.config;
    const suffix = this.config.suffix ?? '.json';
    const failed: DispatchFailure<P>[] = [];
    let reached = false;
    let lastError: Error | undefined;
    for (let i = 0; i < transactions.length; i += putConcurrency) {
      const group = transactions.slice(i, i + putConcurrency);
      if (signal?.aborted === true) {
        for (const transaction of group) failed.push({ transaction, error: signal.reason });
        continue;
      }
      await Promise.all(
        group.map(async (transaction) => {
          try {
            refuseNotBefore(transaction, 'the S3 connector');
            const body = this.codec.encode(transaction.payload);
            await this.requests.run(
              () =>
                this.client.send(
                  new PutObjectCommand({
                    Bucket: bucket,
                    Key: `${prefix}${transaction.id}${suffix}`,
                    Body: body,
                    ContentType: this.codec.contentType,
                    Metadata: outboundMetadata(transaction),
                  }),
                ),
              signal,
            );
            reached = true;
          } catch (error) {
            lastError = error instanceof Error ? error : new Error(describeError(error));
            failed.push({ transaction, error });
          }
        }),
      );
    }
    if (
      !reached &&
      transactions.length > 0 &&
      failed.length === transactions.length &&
      lastError !== undefined
    ) {
      throw lastError;
    }
    return { failed };
  }

  private async dispatchLines(
    transactions: readonly Transaction<P>[],
    signal: AbortSignal | undefined,
  ): Promise<DispatchReport<P>> {
    const failed: DispatchFailure<P>[] = [];
    const lines: Buffer[] = [];
    let first: Transaction<P> | undefined;
    for (const transaction of transactions) {
      try {
        refuseNotBefore(transaction, 'the S3 connector');
        const line = Buffer.from(this.codec.encode(transaction.payload));
        if (line.includes(0x0a)) {
          throw new S3LineError(
            `the codec (${this.codec.contentType}) encoded transaction ${transaction.id} with a line break: a JSON-lines object needs one line per transaction (use jsonCodec, or format: 'object')`,
          );
        }
        lines.push(line, Buffer.from('\n'));
        first ??= transaction;
      } catch (error) {
        failed.push({ transaction, error });
      }
    }
    if (first === undefined) return { failed };
    const { bucket, prefix } = this.config;
    const suffix = this.config.suffix ?? '.jsonl';
    const key = `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}-${first.id}${suffix}`;
    const metadata = outboundMetadata(first);
    delete metadata['ergon-id'];
    delete metadata['ergon-key'];
    await this.requests.run(
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: Buffer.concat(lines),
            ContentType: 'application/x-ndjson',
            Metadata: metadata,
          }),
        ),
      signal,
    );
    return { failed };
  }
}
