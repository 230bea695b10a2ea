import {
  Admin,
  Consumer,
  ListOffsetTimestamps,
  type MessagesStream,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import log from 'loglevel';
import { Observable, defer, of, type Subscriber } from 'rxjs';
import { ConnectionFailureLog } from '../../core/connection-failures.js';
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
  PolicyError,
  type TransactionError,
} from '../../core/errors.js';
import { refuseNotBefore } from '../../core/delivery-schedule.js';
import { logError, type Logger } from '../../core/logging.js';
import type { SettleDecision } from '../../core/outcome.js';
import { describeError } from '../../core/renderers.js';
import type { Transaction } from '../../core/transaction.js';
import { FifoQueue } from '../../core/fifo-queue.js';
import { noop, sleep, waitAtMost } from '../../core/waiting.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';
import { backoffDelay } from '../../policy/backoff.js';
import { KafkaConnectionError, KafkaDeadLetterError, KafkaTopicError } from './errors.js';
import {
  deadLetterRecord,
  recordTransaction,
  transactionRecord,
  type KafkaMessage,
  type KafkaRecordToProduce,
  type RecordSource,
} from './internal/kafka-record.js';
import {
  cooperativeAssigner,
  cooperativeProtocol,
  encodeClaims,
} from './internal/cooperative-assignor.js';
import { PartitionOffsets, type HeldOffset } from './internal/partition-offsets.js';
import {
  kafkaConnectorConfig,
  type KafkaConnectorConfig,
  type KafkaConnectorConfigInput,
} from './kafka-connector-config.js';

/**
 * The metadata of a transaction fetched from Kafka (a `Transaction`'s metadata is a plain
 * record: read it as this type). `headers` holds every record header besides `ergon-id`.
 *
 * @example
 * ```ts
 * const { partition, offset } = tx.metadata as unknown as KafkaTransactionMetadata;
 * ```
 */
export interface KafkaTransactionMetadata {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset in its partition, as a decimal string (offsets are 64-bit). */
  readonly offset: string;
  /** The record's timestamp, ms since the epoch. */
  readonly timestamp: number;
  readonly group: string;
  /** Deliveries of this record to this consumer, this one included (a release delivers it again). */
  readonly deliveries: number;
  /** `deliveries > 1`. */
  readonly redelivered: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** The record key, as UTF-8 text; absent when the record had none. */
  readonly key?: string;
}

/** Options of a {@link KafkaConnector}. */
export interface KafkaConnectorOptions {
  /** Where reconnects, rebalances and failed commits are reported (default: loglevel `ergon.kafka`). */
  readonly logger?: Logger;
}

/** A fetched record this connector holds until it is settled (its own held offset). */
interface Delivery extends HeldOffset {
  readonly message: KafkaMessage;
  /** The partition's offsets when it was fetched: stale once the partition was revoked. */
  readonly offsets: PartitionOffsets;
  /** Deliveries so far, this one included (a release delivers it again). */
  deliveries: number;
}

/** One subscription of `fetch`: cancelled when the subscriber unsubscribes. */
interface FetchRun {
  cancelled: boolean;
}

type StreamState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** How long `close` waits for the last commit and for leaving the group. */
const closeGrace = 3000;
/** The library's own retries of one request, before the connector's backoff takes over. */
const driverRetries = 2;
const driverRetryDelay = 200;

/**
 * A Kafka topic read through a consumer group, as a connector (`@platformatic/kafka`, a
 * maintained pure-JS client).
 *
 * `fetch` returns at most `request.size` records (waiting up to `fetchWait` for the first),
 * in offset order per partition; the client reads at most `prefetch` records ahead. Offsets
 * are committed only up to the **contiguous prefix of settled records per partition**: a
 * record released, or still in flight, holds back the commit of every later one, so a
 * restart (or the partition's next owner) delivers again everything from it on and nothing
 * is ever skipped. `settle` maps `ack` to "settled" (committed with the prefix, a commit in
 * flight at a time, batched), `deadLetter` to a copy with the error in `ergon-error*`
 * headers on the dead-letter topic (acknowledged by all in-sync replicas before the offset
 * counts as settled), and `release` to delivering the same record again from this
 * connector (its offset stays uncommitted meanwhile).
 *
 * Rebalances hand partitions over cooperatively (the group's assignor gives a partition to
 * its new owner only once its holder let it go): a revoked partition's records are no longer
 * started, its transactions in flight may still settle and be committed for `drainTimeout`,
 * then the connector lets it go; the new owner starts after those commits, and delivers
 * again only what was still unsettled at the deadline. No commit is ever made for a partition
 * this consumer no longer holds.
 * `dispatch` writes with an idempotent producer and `acks=all`, the record key being
 * `metadata.key`.
 *
 * @example
 * ```ts
 * const connector = new KafkaConnector<Order>({ topic: 'orders', partitions: 6 });
 * consume(connector, consumerTask({ key: (tx) => tx.metadata['key'] as string, process: ship }), {
 *   loop: { mode: 'continuous', concurrency: { value: 32 }, streaming: true },
 * }).subscribe();
 * await connector.dispatch([createTransaction(order, { metadata: { key: order.customer } })]);
 * ```
 */
export class KafkaConnector<P = unknown> implements Connector<P> {
  readonly system = 'kafka';
  /**
   * None: a partition is a log read in order, so a record cannot be held back for later
   * without holding up the records behind it. A `RetryLaterError` is dead-lettered (to
   * `deadLetterTopic`, with a `DelayedReleaseUnsupportedError`), `process.retry.durableAfter`
   * is refused by `consume`, and `dispatch` refuses a future `metadata.notBefore`.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: false,
    notBefore: false,
    priority: false,
  });
  readonly destination: string;
  readonly config: KafkaConnectorConfig<P>;
  /** Where dead letters go. */
  readonly deadLetterTopic: string;
  /** The consumer group. */
  readonly group: string;
  private readonly logger: Logger;
  private readonly source: RecordSource;
  private readonly failures: ConnectionFailureLog;
  private consumer: Consumer | null = null;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | null = null;
  private opening: Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> | null = null;
  private streamState: StreamState = 'idle';
  private nextAttemptAt = 0;
  private producer: Producer | null = null;
  private topicsReady: Promise<void> | null = null;
  /** The offsets of each partition this consumer holds now: assigned, or revoked and draining. */
  private readonly owned = new Map<number, PartitionOffsets>();
  /** The partitions whose records this consumer hands out (`null`: before the first join). */
  private assigned: ReadonlySet<number> | null = null;
  /** Revoked partitions whose transactions in flight may still settle and be committed. */
  private readonly draining = new Set<number>();
  private drainRun: Promise<void> | null = null;
  /** Wakes the drain when a transaction of a draining partition settles. */
  private drainWaker: (() => void) | null = null;
  /** The group membership (member id) and generation of the current assignment. */
  private member: string | null = null;
  private generation = -1;
  private readonly deliveries = new Map<Transaction<P>, Delivery>();
  /** Released records, to be delivered again before new ones. */
  private readonly released = new FifoQueue<Delivery>();
  private readonly wakers = new Set<() => void>();
  private commitRunning: Promise<void> | null = null;
  private commitDue = false;
  private commitTimer: NodeJS.Timeout | null = null;
  private lastCommitAt = 0;
  private commitFailures = 0;
  private closing: Promise<void> | null = null;
  private readonly closed$ = new AbortController();
  private readonly wakeAll = (): void => this.wake();

  /**
   * @param input the connector config (see {@link KafkaConnectorConfigInput}).
   * @throws PolicyError when `input` is invalid.
   */
  constructor(input: KafkaConnectorConfigInput<P>, options: KafkaConnectorOptions = {}) {
    this.config = kafkaConnectorConfig(input);
    const { topic, deadLetterTopic, brokers } = this.config;
    this.destination = topic;
    this.group = this.config.group ?? `ergon-${topic}`;
    const { group } = this;
    this.deadLetterTopic = deadLetterTopic ?? `${topic}.dead`;
    if (this.deadLetterTopic === topic) {
      throw new PolicyError('kafka connector config', [
        {
          path: 'deadLetterTopic',
          expected: 'a topic other than `topic`',
          actual: JSON.stringify(this.deadLetterTopic),
        },
      ]);
    }
    this.logger = options.logger ?? log.getLogger('ergon.kafka');
    this.source = { group };
    this.failures = new ConnectionFailureLog(this.logger, 'Kafka', brokers.join(','));
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Fetched transactions not settled yet. */
  get unsettled(): number {
    return this.deliveries.size;
  }

  /**
   * Partitions revoked from this consumer by a rebalance whose transactions in flight may
   * still settle and be committed (for at most `drainTimeout`) before their new owner gets them.
   */
  get drainingPartitions(): readonly number[] {
    return [...this.draining];
  }

  /**
   * Creates the topic and the dead-letter topic when they are missing (with `partitions` and
   * `replicationFactor`); the first fetch or dispatch does it too. For a producer written
   * elsewhere that must find the topic before this connector ever ran.
   *
   * @throws KafkaTopicError when a topic is missing and `createTopics` is off, or the cluster
   * refused to create it.
   */
  declare(): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectorClosedError('kafka connector is closed'));
    return this.ensureTopics();
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      if (this.closed) {
        subscriber.error(new ConnectorClosedError('kafka connector is closed'));
        return;
      }
      const run: FetchRun = { cancelled: false };
      // Records at hand (the stream's buffer, released ones) are handed out synchronously.
      const stream = this.stream;
      if (stream !== null && this.emitAvailable(subscriber, stream, request.size, run) > 0) {
        subscriber.complete();
        return;
      }
      this.fetchInto(subscriber, request.size, run).then(
        () => subscriber.complete(),
        (error: unknown) =>
          subscriber.error(
            this.closed
              ? new ConnectorClosedError('kafka connector closed during a fetch', { cause: error })
              : error,
          ),
      );
      return () => {
        run.cancelled = true;
        this.wake();
      };
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const delivery = takeDelivery(this.deliveries, transaction);
    if (delivery === undefined) return notHeld(transaction);
    const { message } = delivery;
    if (this.closed) {
      return Promise.reject(
        new DeliveryLostError(
          `the connector closed before record ${recordName(message)} was settled: its offset stays uncommitted, so it is delivered again`,
        ),
      );
    }
    switch (decision.type) {
      case 'ack':
        this.settled(delivery);
        return Promise.resolve();
      case 'release':
        this.release(delivery);
        return Promise.resolve();
      case 'deadLetter':
        return this.deadLetter(transaction, delivery, decision.error);
    }
  }

  /**
   * Writes one record per transaction to the topic and resolves once all in-sync replicas
   * have them (idempotent producer, `acks=all`). A payload the codec cannot encode, or a
   * future `metadata.notBefore` (a `ScheduleError`: Kafka cannot hold a record back), fails that
   * transaction only (it is in the report); a produce the cluster refuses fails the batch.
   * A batch whose `context.signal` aborted before it was sent is not sent (rejects with
   * `signal.reason`); one already sent is waited for (a produce cannot be taken back).
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError('kafka connector is closed');
    context?.signal.throwIfAborted();
    const failed: DispatchFailure<P>[] = [];
    const records: KafkaRecordToProduce[] = [];
    for (const transaction of transactions) {
      try {
        refuseNotBefore(transaction, 'the Kafka connector');
        records.push(transactionRecord(transaction, this.config.topic, this.config.codec));
      } catch (error) {
        failed.push({ transaction, error });
      }
    }
    if (records.length === 0) return { failed };
    await this.ensureTopics();
    context?.signal.throwIfAborted();
    await this.producerClient().send({ messages: records });
    return { failed };
  }

  /**
   * Records waiting for this group: per partition, the end offset less the committed one (the
   * group's lag), summed; a partition without a commit counts from its start (`startFrom:
   * 'earliest'`) or as 0 (`'latest'`). Records in flight count until their offsets are
   * committed.
   */
  count(): Observable<number> {
    return defer(async () => {
      await this.ensureTopics();
      const consumer = this.consumerClient();
      const { topic, startFrom } = this.config;
      const [ends, starts] = await Promise.all([
        consumer.listOffsets({ topics: [topic] }),
        consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
      ]);
      const end = ends.get(topic) ?? [];
      const start = starts.get(topic) ?? [];
      const commits = await consumer.listCommittedOffsets({
        topics: [{ topic, partitions: end.map((_, partition) => partition) }],
      });
      const committed = commits.get(topic) ?? [];
      let total = 0n;
      end.forEach((last, partition) => {
        const commit = committed[partition] ?? -1n;
        const from =
          commit >= 0n ? commit : startFrom === 'earliest' ? (start[partition] ?? 0n) : last;
        if (last > from) total += last - from;
      });
      return Number(total);
    });
  }

  health(): Observable<ConnectorHealth> {
    return defer(() => {
      const state = this.streamState;
      const healthy = state === 'connected' || state === 'idle';
      if (this.failures.failures > 0) {
        return of<ConnectorHealth>({
          healthy: false,
          state,
          detail: describeError(this.failures.lastError),
        });
      }
      return of<ConnectorHealth>({ healthy, state });
    });
  }

  /**
   * Stops fetching (a waiting fetch ends at once), commits the settled prefix of every owned
   * partition, leaves the group (its partitions go to the other members at once) and closes
   * the clients. Transactions still unsettled are not committed: their later settle rejects
   * with `DeliveryLostError` and the group delivers them again. Takes about 3 s at most when
   * the cluster does not answer. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.streamState = 'closed';
    this.closed$.abort(new ConnectorClosedError('kafka connector is closed'));
    this.wake();
    await waitAtMost(this.opening ?? Promise.resolve(), closeGrace);
    await waitAtMost(this.commitNow(), closeGrace);
    const stream = this.stream;
    this.stream = null;
    const consumer = this.consumer;
    this.consumer = null;
    const producer = this.producer;
    this.producer = null;
    await Promise.all([
      stream === null ? undefined : waitAtMost(stream.close(), closeGrace),
      producer === null ? undefined : waitAtMost(producer.close(), closeGrace),
    ]);
    if (consumer !== null) {
      const left = await waitAtMost(closeConsumer(consumer, false), closeGrace);
      if (!left) await waitAtMost(closeConsumer(consumer, true), closeGrace);
    }
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    run: FetchRun,
  ): Promise<void> {
    const stream = await this.openStream();
    let emitted = this.emitAvailable(subscriber, stream, size, run);
    if (emitted > 0 || this.config.fetchWait === 0 || run.cancelled) return;
    const deadline = Date.now() + this.config.fetchWait;
    while (emitted === 0 && !run.cancelled && !this.closed && this.stream === stream) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.waitForRecords(left);
      emitted = this.emitAvailable(subscriber, stream, size, run);
    }
    if (this.stream !== stream && emitted === 0 && !this.closed && !run.cancelled) {
      // The stream failed while we waited: the next fetch reopens it (after the backoff).
      await this.openStream();
    }
  }

  /** Emits released records, then records the stream has, up to `size`. */
  private emitAvailable(
    subscriber: Subscriber<Transaction<P>>,
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    size: number,
    run: FetchRun,
  ): number {
    let emitted = 0;
    while (emitted < size && !this.stopped(subscriber, run)) {
      const again = this.released.shift();
      if (again === undefined) break;
      const { partition } = again.message;
      // Revoked meanwhile: left unsettled (uncommitted) for the new owner.
      if (this.owned.get(partition) !== again.offsets || this.draining.has(partition)) continue;
      again.offsets.redelivered(again);
      again.deliveries++;
      this.deliver(subscriber, again);
      emitted++;
    }
    while (emitted < size && !this.stopped(subscriber, run) && this.stream === stream) {
      const message = stream.read() as KafkaMessage | null;
      if (message === null) break;
      const delivery = this.accept(message);
      if (delivery === undefined) continue;
      this.deliver(subscriber, delivery);
      emitted++;
    }
    return emitted;
  }

  private stopped(subscriber: Subscriber<Transaction<P>>, run: FetchRun): boolean {
    return run.cancelled || subscriber.closed || this.closed;
  }

  private deliver(subscriber: Subscriber<Transaction<P>>, delivery: Delivery): void {
    const transaction = recordTransaction(
      delivery.message,
      this.source,
      delivery.deliveries,
      this.config.codec,
    );
    this.deliveries.set(transaction, delivery);
    subscriber.next(transaction);
  }

  /**
   * The delivery of a record read from the stream, or `undefined` for one to drop: of a
   * partition this consumer no longer owns, or read already (the client rewinds a partition
   * it keeps to the committed offset after a rebalance).
   */
  private accept(message: KafkaMessage): Delivery | undefined {
    const { partition } = message;
    if (this.assigned !== null && !this.assigned.has(partition)) return undefined;
    let offsets = this.owned.get(partition);
    if (offsets === undefined) {
      offsets = new PartitionOffsets();
      this.owned.set(partition, offsets);
    }
    return offsets.hold<Delivery>({
      offset: message.offset,
      settled: false,
      inFlight: true,
      message,
      offsets,
      deliveries: 1,
    });
  }

  /** Waits for records (the stream's `readable`, a release) or the end of `timeout`. */
  private waitForRecords(timeout: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeout);
      this.wakers.add(done);
    });
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }

  private settled(delivery: Delivery): void {
    const { partition } = delivery.message;
    delivery.offsets.settle(delivery);
    if (this.owned.get(partition) !== delivery.offsets) return;
    this.scheduleCommit();
    if (this.drainWaker !== null && this.draining.has(partition)) this.drainWaker();
  }

  private release(delivery: Delivery): void {
    const { partition } = delivery.message;
    delivery.offsets.released(delivery);
    // A revoked partition's record is delivered again by its new owner (nothing committed it).
    if (this.owned.get(partition) !== delivery.offsets) return;
    if (this.draining.has(partition)) {
      this.drainWaker?.();
      return;
    }
    this.released.push(delivery);
    this.wake();
  }

  private async deadLetter(
    transaction: Transaction<P>,
    delivery: Delivery,
    error: TransactionError,
  ): Promise<void> {
    const record = deadLetterRecord(
      delivery.message,
      transaction.id,
      error,
      this.deadLetterTopic,
      this.group,
    );
    try {
      await this.ensureTopics();
      await this.producerClient().send({ messages: [record] });
    } catch (cause) {
      this.release(delivery);
      throw new KafkaDeadLetterError(
        `could not write record ${recordName(delivery.message)} to dead-letter topic ${this.deadLetterTopic}: it is delivered again instead (its offset stays uncommitted)`,
        { cause },
      );
    }
    this.settled(delivery);
  }

  /**
   * Commits soon: at most one commit in flight and one per `commitInterval`; settles meanwhile
   * join the next one.
   */
  private scheduleCommit(): void {
    this.commitDue = true;
    if (this.commitRunning !== null || this.commitTimer !== null || this.closed) return;
    const wait = this.lastCommitAt + this.config.commitInterval - Date.now();
    if (wait > 0) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = null;
        this.startCommit();
      }, wait);
      this.commitTimer.unref();
      return;
    }
    this.startCommit();
  }

  private startCommit(): void {
    this.commitRunning = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.commitOnce())
      .finally(() => {
        this.commitRunning = null;
        if (this.commitDue && this.commitTimer === null) this.scheduleCommit();
      });
  }

  /** Commits now (after the commit in flight): for a rebalance and for `close`. */
  private async commitNow(): Promise<void> {
    if (this.commitTimer !== null) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    await this.commitRunning;
    this.commitDue = true;
    await this.commitOnce();
  }

  /** Commits the settled prefix of every owned partition that moved since the last commit. */
  private async commitOnce(): Promise<void> {
    this.commitDue = false;
    const consumer = this.consumer;
    if (consumer === null) return;
    const offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] = [];
    const commits: [PartitionOffsets, bigint][] = [];
    for (const [partition, owned] of this.owned) {
      const offset = owned.commitOffset;
      if (offset === null) continue;
      offsets.push({ topic: this.config.topic, partition, offset, leaderEpoch: -1 });
      commits.push([owned, offset]);
    }
    if (offsets.length === 0) return;
    this.lastCommitAt = Date.now();
    try {
      await consumer.commit({ offsets });
      for (const [owned, offset] of commits) owned.committed(offset);
      this.commitFailures = 0;
    } catch (error) {
      this.commitFailures++;
      if (this.commitFailures === 1) {
        logError(
          this.logger,
          'warn',
          `Kafka: committing offsets of ${this.config.topic} for group ${this.group} failed; retrying (records after the last commit are delivered again if this consumer stops first)`,
          describeError(error),
        );
      }
      if (this.closed) return;
      this.commitDue = true;
      const delay = backoffDelay(this.config.reconnect, Math.min(this.commitFailures - 1, 30));
      this.commitTimer = setTimeout(() => {
        this.commitTimer = null;
        this.scheduleCommit();
      }, delay);
      this.commitTimer.unref();
    }
  }

  /** The group's stream, opened (after the reconnect backoff, when the last one failed). */
  private openStream(): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    if (this.stream !== null) return Promise.resolve(this.stream);
    this.opening ??= this.attemptStream().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async attemptStream(): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    const { connectTimeout } = this.config;
    for (;;) {
      const wait = this.nextAttemptAt - Date.now();
      if (wait > 0) await sleep(wait, { signal: this.closed$.signal, unref: true });
      if (this.closed) throw new ConnectorClosedError('kafka connector is closed');
      this.streamState = this.failures.failures > 0 ? 'reconnecting' : 'connecting';
      try {
        await this.ensureTopics();
        const consumer = this.consumerClient();
        const stream = await consumer.consume({
          topics: [this.config.topic],
          mode: 'committed',
          fallbackMode: this.config.startFrom,
          autocommit: false,
          highWaterMark: this.config.prefetch,
          maxBytesPerPartition: this.config.partitionFetchBytes,
          maxWaitTime: Math.max(10, Math.min(this.config.fetchWait, 5000)),
        });
        if (this.closed) {
          await waitAtMost(stream.close(), closeGrace);
          throw new ConnectorClosedError('kafka connector is closed');
        }
        this.watch(stream, consumer);
        this.failures.connected();
        this.streamState = 'connected';
        this.nextAttemptAt = 0;
        return stream;
      } catch (error) {
        if (this.closed)
          throw new ConnectorClosedError('kafka connector is closed', { cause: error });
        if (error instanceof KafkaTopicError) throw error;
        const delay = backoffDelay(this.config.reconnect, Math.min(this.failures.failures, 30));
        this.failures.failed(error, delay);
        this.nextAttemptAt = Date.now() + delay;
        this.streamState = 'reconnecting';
        await this.dropConsumer();
        const left = this.failures.remainingWait(connectTimeout);
        if (left === 0) {
          throw new KafkaConnectionError(this.failures.unavailable(connectTimeout).message, {
            cause: error,
          });
        }
      }
    }
  }

  /**
   * Follows a stream's failures and the group's rebalances. The stream failing or ending, or
   * the consumer failing to rejoin its group (its `error` event), ends this stream: the next
   * fetch opens another after the `reconnect` backoff (with a new consumer when the old one
   * lost its membership).
   */
  private watch(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, consumer: Consumer): void {
    this.stream = stream;
    this.assign(consumer);
    const onJoin = (): void => this.assign(consumer);
    const onRebalance = (): void => {
      this.commitNow().catch(noop);
    };
    const failed = (error: unknown, membershipLost: boolean): void => {
      consumer.off('consumer:group:join', onJoin);
      consumer.off('consumer:group:rebalance', onRebalance);
      consumer.off('error', onConsumerError);
      stream.off('readable', this.wakeAll);
      if (this.stream !== stream) return;
      this.stream = null;
      stream.close().catch(noop);
      if (this.closed) return;
      const delay = backoffDelay(this.config.reconnect, Math.min(this.failures.failures, 30));
      this.failures.failed(error, delay);
      this.nextAttemptAt = Date.now() + delay;
      this.streamState = 'reconnecting';
      if (membershipLost && this.consumer === consumer) this.dropConsumer().catch(noop);
      this.wake();
    };
    const onConsumerError = (error: unknown): void => failed(error, true);
    // A `readable` listener for the stream's whole life keeps it in paused mode: without one
    // (`readableFlowing === null`) the client stops fetching ahead between two of our reads,
    // and every empty buffer costs a round trip to the broker.
    stream.on('readable', this.wakeAll);
    consumer.on('consumer:group:join', onJoin);
    consumer.on('consumer:group:rebalance', onRebalance);
    consumer.on('error', onConsumerError);
    stream.once('error', (error: Error) => failed(error, false));
    stream.once('close', () => {
      failed(new KafkaConnectionError('the consumer stream of the group ended'), false);
    });
  }

  /**
   * Takes the group's current assignment. A partition no longer assigned is revoked: its
   * records are no longer handed out, and it drains (see {@link drainRevoked}); one assigned
   * again while it drains is kept. After a lost membership (a new member id) a partition not
   * assigned again is dropped at once, without a drain: it may have had another owner
   * meanwhile, so nothing more is committed for it.
   */
  private assign(consumer: Consumer): void {
    const partitions = new Set<number>();
    for (const assignment of consumer.assignments ?? []) {
      if (assignment.topic === this.config.topic) {
        for (const partition of assignment.partitions) partitions.add(partition);
      }
    }
    if (this.member !== null && consumer.memberId !== this.member) {
      const lost = [...this.owned.keys()].filter((partition) => !partitions.has(partition));
      for (const partition of lost) {
        this.owned.delete(partition);
        this.draining.delete(partition);
      }
      if (lost.length > 0) {
        this.logger.info(
          `Kafka: this consumer lost its membership of group ${this.group}; the unsettled records of partitions ${lost.join(', ')} of ${this.config.topic} are left uncommitted for their new owner`,
        );
      }
    }
    this.member = consumer.memberId;
    this.generation = consumer.generationId;
    for (const partition of partitions) this.draining.delete(partition);
    const revoked = [...this.owned.keys()].filter(
      (partition) => !partitions.has(partition) && !this.draining.has(partition),
    );
    for (const partition of revoked) this.draining.add(partition);
    this.assigned = partitions;
    if (revoked.length > 0) {
      this.logger.info(
        `Kafka: partitions ${revoked.join(', ')} of ${this.config.topic} revoked from this consumer of group ${this.group}; draining them for at most ${this.config.drainTimeout} ms`,
      );
    }
    if (this.draining.size > 0) this.startDrain(consumer);
  }

  private startDrain(consumer: Consumer): void {
    this.drainRun ??= this.drainRevoked(consumer).finally(() => {
      this.drainRun = null;
      if (this.draining.size > 0 && this.consumer === consumer && !this.closed) {
        this.startDrain(consumer);
      }
    });
  }

  /**
   * Lets the revoked partitions go: waits until none of their transactions is in flight, at
   * most `drainTimeout`, commits their settled prefix (this member still belongs to the
   * generation that revoked them, and the cooperative assignor gave them to nobody else
   * while this member holds them), forgets them and joins the group again without them, so
   * that the next generation gives them to their new owner, which starts from that commit.
   * Records still unsettled then are left uncommitted: the new owner delivers them again.
   */
  private async drainRevoked(consumer: Consumer): Promise<void> {
    const deadline = Date.now() + this.config.drainTimeout;
    // Partitions revoked during this drain get a drain of their own, with its own deadline.
    const revoked = [...this.draining];
    const busy = (): boolean =>
      revoked.some(
        (partition) =>
          this.draining.has(partition) && (this.owned.get(partition)?.inFlight ?? 0) > 0,
      );
    while (busy() && !this.closed && this.consumer === consumer) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.drainWaker = done;
      });
      this.drainWaker = null;
    }
    if (this.closed || this.consumer !== consumer) return;
    await this.commitNow();
    const letGo = revoked.filter((partition) => this.draining.has(partition));
    if (letGo.length === 0) return;
    const unsettled = letGo.reduce(
      (sum, partition) => sum + (this.owned.get(partition)?.unsettled ?? 0),
      0,
    );
    for (const partition of letGo) {
      this.owned.delete(partition);
      this.draining.delete(partition);
    }
    this.logger.info(
      `Kafka: let partitions ${letGo.join(', ')} of ${this.config.topic} go to their new owner in group ${this.group}${unsettled > 0 ? ` (${unsettled} records unsettled at the deadline are left uncommitted: delivered again there)` : ''}`,
    );
    if (this.closed || this.consumer !== consumer) return;
    try {
      await consumer.joinGroup({});
    } catch (error) {
      // The heartbeat rejoins later; a consumer that lost its group fails its stream (see `watch`).
      logError(this.logger, 'debug', 'Kafka: rejoining the group after a drain failed', error);
    }
  }

  /** The claims this member sends when it joins: what it holds, and since which generation. */
  private claims(): Buffer {
    return encodeClaims(this.generation, new Map([[this.config.topic, [...this.owned.keys()]]]));
  }

  private consumerClient(): Consumer {
    this.consumer ??= new Consumer({
      clientId: this.config.clientId,
      bootstrapBrokers: [...this.config.brokers],
      groupId: this.group,
      protocols: [cooperativeProtocol(() => this.claims())],
      partitionAssigner: cooperativeAssigner,
      sessionTimeout: this.config.sessionTimeout,
      heartbeatInterval: this.config.heartbeatInterval,
      rebalanceTimeout: this.config.sessionTimeout,
      timeout: this.config.connectTimeout,
      retries: driverRetries,
      retryDelay: driverRetryDelay,
      autocreateTopics: false,
    });
    // A failed rejoin is an `error` event: the stream watching it reopens (see `watch`); with
    // no stream it must still not crash the process.
    this.consumer.on('error', (error: unknown) => {
      logError(this.logger, 'debug', 'Kafka: consumer error', error);
    });
    return this.consumer;
  }

  private producerClient(): Producer {
    this.producer ??= new Producer({
      clientId: this.config.clientId,
      bootstrapBrokers: [...this.config.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      timeout: this.config.connectTimeout,
      retries: driverRetries,
      retryDelay: driverRetryDelay,
      autocreateTopics: false,
    });
    // Failures reach the caller of send(); an `error` event must not crash the process.
    this.producer.on('error', (error: unknown) => {
      logError(this.logger, 'debug', 'Kafka: producer error', error);
    });
    return this.producer;
  }

  private async dropConsumer(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.assigned = null;
    if (consumer !== null) await waitAtMost(closeConsumer(consumer, true), closeGrace);
  }

  /** Creates the topic and the dead-letter topic when missing (once; again after a failure). */
  private ensureTopics(): Promise<void> {
    this.topicsReady ??= this.createTopics().catch((error: unknown) => {
      this.topicsReady = null;
      throw error;
    });
    return this.topicsReady;
  }

  private async createTopics(): Promise<void> {
    const { topic, brokers, clientId, createTopics, partitions, replicationFactor } = this.config;
    const admin = new Admin({
      clientId,
      bootstrapBrokers: [...brokers],
      timeout: this.config.connectTimeout,
      retries: driverRetries,
      retryDelay: driverRetryDelay,
    });
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [topic, this.deadLetterTopic].filter((name) => !existing.has(name));
      if (missing.length === 0) return;
      if (!createTopics) {
        throw new KafkaTopicError(
          `topic ${missing.join(' and ')} does not exist and createTopics is off: create ${missing.length === 1 ? 'it' : 'them'}, or set createTopics: true`,
        );
      }
      for (const name of missing) {
        try {
          await admin.createTopics({
            topics: [name],
            partitions,
            ...(replicationFactor === null ? {} : { replicas: replicationFactor }),
          });
        } catch (error) {
          if (isTopicExists(error)) continue;
          throw new KafkaTopicError(
            `could not create topic ${name} (${partitions} partitions): ${describeError(error)}`,
            { cause: error },
          );
        }
      }
    } finally {
      await waitAtMost(admin.close(), closeGrace);
    }
  }
}

/** Closes a consumer: `force` skips leaving the group (for a consumer whose connection failed). */
function closeConsumer(consumer: Consumer, force: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    consumer.close(force, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error);
    });
  });
}

function recordName(message: KafkaMessage): string {
  return `${message.topic}-${message.partition}@${message.offset}`;
}

/** Whether a create-topics failure says the topic exists already (created by someone else meanwhile). */
function isTopicExists(error: unknown): boolean {
  return /TOPIC_ALREADY_EXISTS|already exists/i.test(describeError(error));
}
