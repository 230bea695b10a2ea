import { defer, Observable, of, type Subscriber } from 'rxjs';
import { ConnectorClosedError, DeliveryLostError, PolicyError } from '../../core/errors.js';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { describeError, renderValue } from '../../core/renderers.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import { noop, waitAtMost } from '../../core/waiting.js';
import {
  isBusyGroup,
  isNoGroup,
  settleFailure,
  StreamEntryTrimmedError,
  UnexpectedReplyError,
} from './errors.js';
import { AckBatcher } from './internal/ack-batcher.js';
import { defaultConsumerName, GroupReader, type PendingRead } from './internal/group-reader.js';
import {
  claimedEntries,
  entryFields,
  entryTransaction,
  entryTransactionId,
  rangeEntries,
  type EntrySource,
  type RedisFields,
  type StreamEntry,
} from './internal/stream-entry.js';
import {
  redisConnectorConfig,
  type RedisConnectorConfig,
  type RedisConnectorConfigInput,
} from './redis-connector-config.js';
import { RedisService } from './redis-service.js';
import { RedisDeadLetters } from './redis-dead-letters.js';
import {
  claimScript,
  deadLetterScript,
  delayScript,
  heldEntryOutcome,
  promoteScript,
  releasePendingScript,
  releaseScript,
  scheduleScript,
  stampIdleScript,
} from './internal/stream-scripts.js';
import { notBeforeOf } from '../../core/delivery-schedule.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';

/**
 * The metadata of a transaction fetched from a Redis stream (a `Transaction`'s metadata is a
 * plain record: read it as this type). `headers` holds every field besides `id`, `body` and
 * `ergon-key` (the trace context, and the dead-letter fields on a dead letter).
 *
 * @example
 * ```ts
 * const { entryId, deliveries } = tx.metadata as unknown as RedisTransactionMetadata;
 * ```
 */
export interface RedisTransactionMetadata extends EntrySource {
  /** The stream entry id (`<ms>-<seq>`). */
  readonly entryId: string;
  /**
   * Deliveries of this transaction to the group, this one included: this entry's, plus those
   * of the entries it came back from after a retry-later (`maxDeliveries` counts them all).
   */
  readonly deliveries: number;
  /** `deliveries > 1`. */
  readonly redelivered: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * The ordering key the producer's transaction had in `metadata.key` (carried in the
   * reserved `ergon-key` field); absent when it had none.
   */
  readonly key?: string;
}

/** How long `close` waits for Redis to take back what this consumer holds. */
const closeGrace = 1500;
/** Most entry ids per lease-renewal script call. */
const renewChunk = 1000;
/** Entries per page when `fetchById` and `count` walk the stream. */
const scanPage = 1000;

/** One subscription of `fetch`: cancelled when the subscriber unsubscribes. */
interface FetchRun {
  cancelled: boolean;
  read: PendingRead | null;
}

/**
 * A Redis Streams consumer group as a connector. `fetch` claims entries that sat idle for
 * `claimIdle` (their consumer died, or they were released), dead-letters those delivered more
 * than `maxDeliveries` times, then reads new entries with `XREADGROUP … BLOCK fetchWait` on a
 * connection of its own, never more than asked for. `settle` maps `ack` to `XACK` (batched per
 * event-loop turn), `deadLetter` to an atomic script that copies the entry and the error to the
 * dead-letter stream then acks it, and `release` to "idle since `claimIdle`", so the next claim
 * of any consumer redelivers it at once. `dispatch` sends one pipeline of `XADD`s per batch.
 *
 * Entries in flight have their idle time renewed every `claimIdle / 3`, so only entries of dead
 * (or stalled) consumers are ever claimed by others. Transaction ids come from the entry's `id`
 * field (set by `dispatch`), else the entry id; `metadata.entryId` holds the entry id.
 *
 * @example
 * ```ts
 * const connector = new RedisConnector<Order>({ stream: 'orders', claimIdle: '1m' });
 * consume(connector, consumerTask({ process: (tx) => ship(tx.payload) }), {
 *   loop: { mode: 'continuous', concurrency: { value: 32 }, streaming: true },
 * }).subscribe();
 * await connector.dispatch([createTransaction({ sku: 'A-1', qty: 2 })]);
 * ```
 */
export class RedisConnector<P = unknown> implements Connector<P> {
  /**
   * Delays live in a sorted set beside the stream (`delayedSet`, scored by when each entry
   * is due on the server's clock): a retry-later moves the entry there and acks it in one
   * script, a dispatch with a future `metadata.notBefore` adds it there, and every fetch first
   * moves what is due back into the stream (another script), so nothing is held in a consumer
   * and a restart loses nothing. No priorities.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: true,
    priority: false,
  });
  /** The sorted set of entries held back for later: `<stream>:delayed`. */
  readonly delayedSet: string;
  readonly config: RedisConnectorConfig<P>;
  /** This connector's consumer name in the group. */
  readonly consumer: string;
  /** Where dead letters go. */
  readonly deadLetterStream: string;
  /** The service whose connections this connector uses. */
  readonly service: RedisService;
  private readonly ownsService: boolean;
  private readonly codec: PayloadCodec<P>;
  private readonly source: EntrySource;
  private readonly deleteFlag: '0' | '1';
  private readonly sweepInterval: number;
  /**
   * Fetched, unsettled transactions and their entries (broker handles stay out of metadata):
   * the fields are kept so that an entry trimmed from the stream while pending still reaches
   * the dead-letter stream whole.
   */
  private readonly deliveries = new Map<Transaction<P>, StreamEntry>();
  private readonly acks: AckBatcher;
  private reader: GroupReader | null = null;
  private groupReady: Promise<void> | null = null;
  private recoverDue = true;
  private sweepDue = true;
  private nextSweepAt = 0;
  /**
   * When the delayed set is next looked at (`Date.now()` ms): at once while entries are due,
   * at the next one's time, and otherwise after `fetchWait` — the longest an idle consumer's
   * blocking read already leaves an entry another process held back. A busy consumer thus
   * runs the promote script a few times a second, not before every read.
   */
  private promoteAt = 0;
  private claimCursor = '0-0';
  /** The last `XREADGROUP`, settled or not: a fetch waits for it, so reads never overlap. */
  private lastRead: Promise<unknown> = Promise.resolve();
  private renewTimer: ReturnType<typeof setInterval> | null = null;
  private renewing = false;
  private closing: Promise<void> | null = null;
  private readonly markRecoverDue = (): void => {
    this.recoverDue = true;
  };

  /**
   * @param input the connector config (see {@link RedisConnectorConfigInput}).
   * @param service a shared {@link RedisService} (closed by its owner, not by this connector);
   * without one the connector opens its own from `input.connection` and closes it on `close`.
   * @throws PolicyError when `input` is invalid, or has `connection` while `service` is given.
   */
  constructor(input: RedisConnectorConfigInput<P>, service?: RedisService) {
    this.config = redisConnectorConfig(input);
    if (service !== undefined && input.connection != null) {
      throw new PolicyError('redis connector config', [
        {
          path: 'connection',
          expected: 'no connection settings with a shared RedisService (configure the service)',
          actual: renderValue(input.connection),
        },
      ]);
    }
    const { stream, group, deleteOnAck, claimIdle } = this.config;
    this.consumer = this.config.consumer ?? defaultConsumerName();
    this.deadLetterStream = this.config.deadLetterStream ?? `${stream}:dead`;
    this.delayedSet = `${stream}:delayed`;
    this.service = service ?? new RedisService(this.config.connection);
    this.ownsService = service === undefined;
    this.codec = this.config.codec;
    this.source = { stream, group, consumer: this.consumer };
    this.deleteFlag = deleteOnAck ? '1' : '0';
    this.sweepInterval = Math.min(1000, claimIdle);
    this.acks = new AckBatcher((ids) => this.sendAcks(ids), settleFailure);
    this.service.commands.on('reconnecting', this.markRecoverDue);
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
    return new Observable<Transaction<P>>((subscriber) => {
      if (this.closed) {
        subscriber.error(new ConnectorClosedError('redis connector is closed'));
        return;
      }
      const run: FetchRun = { cancelled: false, read: null };
      this.fetchInto(subscriber, request.size, run).then(
        () => subscriber.complete(),
        (error: unknown) =>
          subscriber.error(
            this.closed
              ? new ConnectorClosedError('redis connector closed during a fetch', { cause: error })
              : error,
          ),
      );
      return () => {
        run.cancelled = true;
        run.read?.cancel();
      };
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const entry = takeDelivery(this.deliveries, transaction);
    if (entry === undefined) return notHeld(transaction);
    const { entryId } = entry;
    if (this.closed) {
      return Promise.reject(
        new DeliveryLostError(
          `the connector closed before stream entry ${entryId} was settled: it was released`,
        ),
      );
    }
    if (decision.type === 'ack') {
      const acked = this.acks.ack(entryId);
      // The last held entry settled (the end of a batch): nothing else can join this XACK, so
      // it goes at the end of this microtask burst instead of the end of the event-loop turn.
      if (this.deliveries.size === 0) this.acks.flushSoon();
      return acked;
    }
    return this.settleEntry(entry, decision).then(
      (reply) => this.settled(entry, decision, reply),
      (error: unknown) => {
        throw settleFailure(error, [entryId]);
      },
    );
  }

  /**
   * Adds one entry per transaction to the stream, in one pipeline of `XADD`s, and resolves
   * once Redis answered them all. A payload the codec cannot encode, or an `XADD` that Redis
   * refuses (or that a dropped connection aborted), fails that transaction only: it is in the
   * report. `XADD`s waiting for a reconnect are sent once it is back (so an entry may be added
   * twice when the connection dropped after Redis applied it).
   *
   * A batch whose `context.signal` aborted before its pipeline was sent is not sent (rejects
   * with `signal.reason`, safe to retry). A pipeline already sent cannot be taken back (for
   * instance while the server is paused with `CLIENT PAUSE`): the dispatch waits for Redis's
   * answers and reports them, so the engine's retry never adds the entries a second time.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError('redis connector is closed');
    context?.signal.throwIfAborted();
    const failed: DispatchFailure<P>[] = [];
    const sent: Transaction<P>[] = [];
    const scheduled: Promise<void>[] = [];
    const pipeline = this.service.commands.pipeline();
    const now = Date.now();
    for (const transaction of transactions) {
      let fields: RedisFields;
      let notBefore: number | undefined;
      try {
        notBefore = notBeforeOf(transaction);
        fields = entryFields(transaction, this.codec);
      } catch (error) {
        failed.push({ transaction, error });
        continue;
      }
      if (notBefore !== undefined && notBefore > now) {
        this.promoteBy(notBefore);
        scheduled.push(
          scheduleScript
            .run(this.service.commands, [this.delayedSet], [notBefore, transaction.id, ...fields])
            .then(
              () => undefined,
              (error: unknown) => {
                failed.push({ transaction, error });
              },
            ),
        );
        continue;
      }
      pipeline.xadd(this.config.stream, '*', ...fields);
      sent.push(transaction);
    }
    await Promise.all(scheduled);
    if (sent.length === 0) return { failed };
    const results = await pipeline.exec();
    if (results === null || results.length !== sent.length) {
      throw new UnexpectedReplyError(`unexpected reply to a pipeline of ${sent.length} XADDs`);
    }
    results.forEach(([error], i) => {
      if (error !== null) failed.push({ transaction: sent[i] as Transaction<P>, error });
    });
    return { failed };
  }

  /**
   * Finds a transaction by id: among those fetched here and not settled, else by walking the
   * stream from its newest entry (`O(stream length)`: for tools, not for hot paths). A
   * transaction found in the stream is only looked up, not delivered (`deliveries` 0), and
   * cannot be settled.
   */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(async () => {
      for (const transaction of this.deliveries.keys()) {
        if (transaction.id === id) return transaction;
      }
      let end = '+';
      for (;;) {
        const page = rangeEntries(
          await this.service.commands.callBuffer('XREVRANGE', [
            this.config.stream,
            end,
            '-',
            'COUNT',
            scanPage,
          ]),
        );
        for (const entry of page) {
          if (entryTransactionId(entry) === id) {
            return entryTransaction(entry, this.source, this.codec);
          }
        }
        const last = page[page.length - 1];
        if (page.length < scanPage || last === undefined) return undefined;
        end = `(${last.entryId}`;
      }
    });
  }

  /**
   * Entries the group has yet to finish: never delivered (the group's lag) plus pending
   * (delivered, not acked: in flight, or waiting to be claimed again), plus those held back in
   * the delayed set. Before the group
   * exists, the stream's length (0 with `groupStart: '$'`).
   */
  count(): Observable<number> {
    return defer(async () => {
      const [waiting, delayed] = await Promise.all([
        this.countWaiting(),
        this.service.commands.zcard(this.delayedSet),
      ]);
      return waiting + delayed;
    });
  }

  /**
   * The dead-letter stream (`deadLetterStream`) to list, show, redrive into this stream and
   * purge; see {@link RedisDeadLetters}.
   */
  deadLetters(): RedisDeadLetters<P> {
    return new RedisDeadLetters(
      this.service.commands,
      this.config.stream,
      this.deadLetterStream,
      this.codec,
    );
  }

  health(): Observable<ConnectorHealth> {
    return defer(() => {
      if (this.closed) return of<ConnectorHealth>({ healthy: false, state: 'closed' });
      const commands = this.service.health();
      if (!commands.healthy || this.reader === null) return of(commands);
      return of(this.service.healthOf(this.reader.connection));
    });
  }

  /**
   * Stops reading (a blocked fetch ends at once), sends the acks still batched, releases
   * every entry still pending for this consumer (unsettled ones included: their later settle
   * rejects with `DeliveryLostError`) so other consumers claim them at once, deletes the
   * consumer from the group when nothing was pending, and closes the connector's own service.
   * Takes about 2.5 s at most when Redis does not answer. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.renewTimer = null;
    this.service.commands.off('reconnecting', this.markRecoverDue);
    const reader = this.reader;
    if (reader !== null && !this.service.closed) {
      const readerEnded = new Promise((resolve) => reader.connection.once('end', resolve));
      this.service.closeConnection(reader.connection);
      const { stream, group, claimIdle } = this.config;
      const handBack = Promise.all([
        readerEnded,
        this.lastRead,
        this.acks.flush(),
        releasePendingScript.run(
          this.service.commands,
          [stream],
          [group, this.consumer, claimIdle, '1'],
        ),
      ]);
      await waitAtMost(handBack, closeGrace);
    } else {
      await waitAtMost(this.acks.flush(), closeGrace);
    }
    if (this.ownsService) await this.service.close();
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    run: FetchRun,
  ): Promise<void> {
    await this.service.whenReady();
    await this.ensureGroup();
    await this.lastRead;
    if (this.recoverDue) await this.recover();
    if (run.cancelled) return;
    const untilNextLook = await this.promoteWhenDue(size);
    let emitted = 0;
    if (this.sweepDue || Date.now() >= this.nextSweepAt) {
      emitted = this.emit(subscriber, await this.claim(size), run);
    }
    if (emitted >= size || run.cancelled) return;
    const wait = emitted > 0 ? 0 : Math.min(this.config.fetchWait, Math.max(1, untilNextLook));
    this.emit(subscriber, await this.readNew(size - emitted, wait, run), run);
  }

  /** Emits entries as transactions; what the subscriber no longer wants is released. */
  private emit(
    subscriber: Subscriber<Transaction<P>>,
    entries: StreamEntry[],
    run: FetchRun,
  ): number {
    let emitted = 0;
    let leftovers: string[] | null = null;
    for (const entry of entries) {
      if (run.cancelled || subscriber.closed || this.closed) {
        (leftovers ??= []).push(entry.entryId);
        continue;
      }
      const transaction = entryTransaction(entry, this.source, this.codec);
      this.deliveries.set(transaction, entry);
      emitted++;
      subscriber.next(transaction);
    }
    if (leftovers !== null) this.releaseEntries(leftovers);
    if (emitted > 0) this.renewTimer ??= this.startRenewal();
    return emitted;
  }

  /**
   * Moves up to `size` held-back entries that are due into the stream, when one may be due
   * (see {@link promoteAt}); returns how long until the delayed set is looked at again, so a
   * blocking read does not sleep past it.
   */
  private async promoteWhenDue(size: number): Promise<number> {
    const now = Date.now();
    if (now < this.promoteAt) return this.promoteAt - now;
    const reply = await promoteScript.run(
      this.service.commands,
      [this.config.stream, this.delayedSet, this.deadLetterStream],
      [size, this.config.maxDeliveries],
    );
    const promoted: unknown = Array.isArray(reply) ? reply[0] : undefined;
    const wait: unknown = Array.isArray(reply) ? reply[1] : undefined;
    if (typeof promoted !== 'number' || typeof wait !== 'number') {
      throw new UnexpectedReplyError(`unexpected reply to the promote script: ${String(reply)}`);
    }
    const { fetchWait } = this.config;
    const next = promoted >= size ? 0 : wait < 0 ? fetchWait : Math.min(wait, fetchWait);
    this.promoteAt = Date.now() + next;
    return next;
  }

  /** Looks at the delayed set again by `dueAt` (an entry this connector just held back). */
  private promoteBy(dueAt: number): void {
    if (dueAt < this.promoteAt) this.promoteAt = dueAt;
  }

  private async readNew(count: number, wait: number, run: FetchRun): Promise<StreamEntry[]> {
    const reader = (this.reader ??= this.openReader());
    for (let attempt = 1; ; attempt++) {
      const read = reader.read(count, wait);
      run.read = read;
      this.lastRead = read.entries.catch(noop);
      try {
        return await read.entries;
      } catch (error) {
        if (attempt > 1 || !isNoGroup(error) || run.cancelled) throw error;
        await this.recreateGroup();
      } finally {
        run.read = null;
      }
    }
  }

  private openReader(): GroupReader {
    const connection = this.service.openBlockingConnection(this.consumer);
    connection.on('reconnecting', this.markRecoverDue);
    return new GroupReader(connection, this.service.commands, this.source);
  }

  private async claim(size: number): Promise<StreamEntry[]> {
    const { stream, group, claimIdle, maxDeliveries } = this.config;
    this.sweepDue = false;
    this.nextSweepAt = Date.now() + this.sweepInterval;
    const reply = await this.inGroup(() =>
      claimScript.run(
        this.service.commands,
        [stream, this.deadLetterStream],
        [group, this.consumer, claimIdle, this.claimCursor, size, maxDeliveries, this.deleteFlag],
      ),
    );
    const claimed = claimedEntries(reply);
    this.claimCursor = claimed.nextCursor;
    if (claimed.nextCursor !== '0-0') this.sweepDue = true;
    return claimed.entries;
  }

  /** Releases entries pending for this consumer that nothing here holds (lost in transit). */
  private async recover(): Promise<void> {
    this.recoverDue = false;
    const { stream, group, claimIdle } = this.config;
    const keep = [...this.deliveries.values()].map(({ entryId }) => entryId);
    keep.push(...this.acks.queued);
    try {
      const released = await this.inGroup(() =>
        releasePendingScript.run(
          this.service.commands,
          [stream],
          [group, this.consumer, claimIdle, '0', ...keep],
        ),
      );
      if (released !== 0) this.sweepDue = true;
    } catch (error) {
      this.recoverDue = true;
      throw error;
    }
  }

  private settleEntry(
    { entryId, fields, deliveries }: StreamEntry,
    decision: Exclude<SettleDecision, { type: 'ack' }>,
  ): Promise<unknown> {
    const { stream, group, claimIdle } = this.config;
    const keys = [stream, this.deadLetterStream];
    switch (decision.type) {
      case 'deadLetter':
        return deadLetterScript.run(this.service.commands, keys, [
          group,
          this.consumer,
          entryId,
          describeError(decision.error),
          decision.error.category,
          decision.error.stage ?? '',
          this.deleteFlag,
          deliveries,
          ...fields,
        ]);
      case 'release':
        if ((decision.delay ?? 0) > 0) {
          this.promoteBy(Date.now() + (decision.delay ?? 0));
          return delayScript.run(
            this.service.commands,
            [stream, this.delayedSet],
            [
              group,
              this.consumer,
              entryId,
              decision.delay ?? 0,
              deliveries,
              this.deleteFlag,
              ...fields,
            ],
          );
        }
        this.sweepDue = true;
        return releaseScript.run(this.service.commands, keys, [
          group,
          this.consumer,
          entryId,
          claimIdle,
          deliveries,
          `stream entry ${entryId} was deleted from stream ${stream} (XTRIM, MAXLEN or XDEL) while pending, and released: it could not be delivered again`,
          ...fields,
        ]);
    }
  }

  /** What a dead-letter or release script reported, as the settle's result. */
  private settled(
    { entryId }: StreamEntry,
    decision: Exclude<SettleDecision, { type: 'ack' }>,
    reply: unknown,
  ): void {
    if (reply === heldEntryOutcome.lost && decision.type === 'deadLetter') {
      throw new DeliveryLostError(
        `stream entry ${entryId} is no longer this consumer's (another consumer claimed it after claimIdle, or settled it): it was not dead-lettered here`,
      );
    }
    if (
      reply === heldEntryOutcome.trimmed &&
      decision.type === 'release' &&
      (decision.delay ?? 0) === 0
    ) {
      throw new StreamEntryTrimmedError(
        `stream entry ${entryId} was deleted from stream ${this.config.stream} (XTRIM, MAXLEN or XDEL) while this consumer held it, so it cannot be delivered again: its id, body and headers were written to ${this.deadLetterStream} with reason 'trimmed' (redrive it from there)`,
      );
    }
  }

  /** Makes entries this connector will not deliver claimable at once (on failure: after `claimIdle`). */
  private releaseEntries(entryIds: string[]): void {
    this.sweepDue = true;
    this.stampIdle(entryIds, this.config.claimIdle).catch(() => {
      this.recoverDue = true;
    });
  }

  private stampIdle(entryIds: readonly string[], idle: number): Promise<unknown> {
    const { stream, group } = this.config;
    return stampIdleScript.run(
      this.service.commands,
      [stream],
      [group, this.consumer, idle, ...entryIds],
    );
  }

  /** Renews the lease (idle time 0) of every entry in flight, every `claimIdle / 3`. */
  private startRenewal(): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      if (this.renewing || this.deliveries.size === 0) return;
      this.renewing = true;
      const ids = [...this.deliveries.values()].map(({ entryId }) => entryId);
      const renewals: Promise<unknown>[] = [];
      for (let i = 0; i < ids.length; i += renewChunk) {
        renewals.push(this.stampIdle(ids.slice(i, i + renewChunk), 0));
      }
      Promise.all(renewals)
        .catch(noop)
        .finally(() => {
          this.renewing = false;
        });
    }, this.config.claimIdle / 3);
    timer.unref();
    return timer;
  }

  private sendAcks(entryIds: readonly string[]): Promise<unknown> {
    const { commands } = this.service;
    const { stream, group, deleteOnAck } = this.config;
    const acked = commands.xack(stream, group, ...entryIds);
    return deleteOnAck ? Promise.all([acked, commands.xdel(stream, ...entryIds)]) : acked;
  }

  /** Creates the group (and the stream) unless it exists; once, until Redis loses it. */
  private ensureGroup(): Promise<void> {
    const { stream, group, groupStart } = this.config;
    this.groupReady ??= this.service.commands
      .xgroup('CREATE', stream, group, groupStart, 'MKSTREAM')
      .then(noop, (error: unknown) => {
        if (isBusyGroup(error)) return;
        this.groupReady = null;
        throw error;
      });
    return this.groupReady;
  }

  private recreateGroup(): Promise<void> {
    this.groupReady = null;
    this.claimCursor = '0-0';
    return this.ensureGroup();
  }

  /** Runs `operation`; when Redis lost the group (a restart without persistence), recreates it and runs it again. */
  private async inGroup<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (!isNoGroup(error)) throw error;
      await this.recreateGroup();
      return operation();
    }
  }

  private async countWaiting(): Promise<number> {
    const { commands } = this.service;
    const { stream, group, groupStart } = this.config;
    if ((await commands.exists(stream)) === 0) return 0;
    const groups = (await commands.xinfo('GROUPS', stream)) as unknown[];
    for (const info of groups) {
      const fields = fieldMap(info);
      if (fields.get('name') !== group) continue;
      const pending = Number(fields.get('pending') ?? 0);
      const lag = fields.get('lag');
      if (typeof lag === 'number') return pending + lag;
      const lastDelivered: unknown = fields.get('last-delivered-id') ?? '0-0';
      return pending + (await this.countAfter(String(lastDelivered)));
    }
    return groupStart === '$' ? 0 : commands.xlen(stream);
  }

  /** Entries after `entryId`, counted page by page (when Redis cannot tell the group's lag). */
  private async countAfter(entryId: string): Promise<number> {
    let total = 0;
    let start = `(${entryId}`;
    for (;;) {
      const page = await this.service.commands.xrange(
        this.config.stream,
        start,
        '+',
        'COUNT',
        scanPage,
      );
      total += page.length;
      const last = page[page.length - 1];
      if (page.length < scanPage || last === undefined) return total;
      start = `(${last[0]}`;
    }
  }
}

/** A flat `[name, value, …]` reply as a map. */
function fieldMap(reply: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  return fields;
}
