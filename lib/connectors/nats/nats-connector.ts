import { headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import log from 'loglevel';
import { defer, filter, Observable, of, takeUntil, type Subscriber, type Subscription } from 'rxjs';
import { abortable, waitAtMost } from '../../core/waiting.js';
import {
  ConnectorClosedError,
  DeliveryLostError,
  DispatchConflictError,
  PolicyError,
  SettlementError,
} from '../../core/errors.js';
import type {
  Connector,
  ConnectorScheduling,
  ConnectorHealth,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { notBeforeOf } from '../../core/delivery-schedule.js';
import { traceHeaders, traceMetadata } from '../../core/trace-headers.js';
import { transactionKey } from '../../core/transaction-key.js';
import { createTransaction, markUndecodable, type Transaction } from '../../core/transaction.js';
import { describeError } from '../../core/renderers.js';
import type { Logger } from '../../core/logging.js';
import type { SettleDecision } from '../../core/outcome.js';
import { deadLetterHeaders, type DeadLetterReason } from './internal/dead-letter-headers.js';
import { NatsDeadLetters, transactionIdHeader } from './nats-dead-letters.js';
import { JetStreamDelivery, parseDeliveryInfo } from './internal/jetstream-delivery.js';
import { jetstreamPull } from './internal/jetstream-pull.js';
import { missingTopology } from './internal/jetstream-topology.js';
import {
  isConnectionFailure,
  NatsConnectionError,
  NatsDeadLetterError,
  NatsPullError,
} from './errors.js';
import {
  natsConnectorConfig,
  type NatsConnectorConfig,
  type NatsConnectorConfigInput,
} from './nats-connector-config.js';
import { NatsService } from './nats-service.js';

/** Options of a {@link NatsConnector}. */
export interface NatsConnectorOptions {
  /**
   * A service to share with other connectors; the connector then leaves it open on `close()`.
   * Without one the connector makes its own from the config's connection keys and closes it.
   */
  readonly service?: NatsService;
  /** Where background failures are reported (default: the loglevel logger `ergon.nats`). */
  readonly logger?: Logger;
}

/** The metadata of a transaction fetched from JetStream (all serialisable). */
export type NatsTransactionMetadata = {
  readonly stream: string;
  readonly consumer: string;
  readonly subject: string;
  /** The stream sequence: stable across redeliveries. */
  readonly sequence: number;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** When the message was stored (ISO 8601). */
  readonly timestamp: string;
  /** The message headers (first value of each). */
  readonly headers: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * The ordering key the producer's transaction had in `metadata.key`, carried in the
   * reserved `Ergon-Key` header (which is then left out of `headers`); absent when it had none.
   */
  readonly key?: string;
};

/**
 * The header that carries a transaction's `metadata.key` (its ordering key, see
 * `transactionKey`); matched in any case when fetched. A header of any other name (`Key`
 * included) is the user's.
 */
const keyHeader = 'Ergon-Key';

/**
 * The header of a transaction dispatched with a future `metadata.notBefore` (milliseconds since
 * the epoch): a fetch that gets it early hands it back with a delayed `-NAK` for the rest.
 */
const notBeforeHeader = 'Ergon-Not-Before';

/** Client-side wait past `fetchWait` for a pull request whose end got lost in a reconnect. */
const pullGrace = 1000;
/** How long `close()` waits for background dead-lettering and for the final flush. */
const closeWait = 1000;
/** Delay before a message whose dead-lettering failed comes back to be dead-lettered again. */
const deadLetterRetryDelay = 1000;

/**
 * NATS JetStream as a transaction source and destination: a durable pull consumer shared by
 * every worker of a task, explicit acks, poison messages routed to a dead-letter stream.
 *
 * - `fetch` sends one pull request for at most `size` messages that waits at most `fetchWait`
 *   for the first message, then returns what is available (JetStream's `no_wait` + `expires`).
 *   The consumer's `maxAckPending` bounds what all workers hold unsettled.
 * - `settle`: `ack` → `+ACK`; `release` → `-NAK` (after `releaseDelay`); `deadLetter` → a copy
 *   with the error in `Ergon-*` headers published (with PubAck) to the dead-letter stream,
 *   then `+TERM`. A delivery whose connection is down throws `DeliveryLostError`: JetStream
 *   redelivers it once its lease (`ackWait`) runs out.
 * - A message delivered more than `maxDeliveries` times is dead-lettered at fetch time, never
 *   handed to the task again (JetStream's delivery count, so crashes count too).
 * - `dispatch` publishes each transaction with a PubAck, its id as `Nats-Msg-Id` (the stream
 *   drops a re-sent id within `duplicateWindow`) and the trace context in the headers.
 *
 * @example
 * ```ts
 * const connector = new NatsConnector({ url: 'nats://127.0.0.1:4222', stream: 'ORDERS', subjects: ['orders.>'], subject: 'orders.new' });
 * consume(connector, consumerTask({ process: (tx) => ship(tx.payload) }), {
 *   loop: { mode: 'continuous', concurrency: { value: 32 }, streaming: true },
 * }).subscribe();
 * ```
 */
export class NatsConnector<P = unknown> implements Connector<P> {
  /**
   * A delayed release is a `-NAK` with that delay (JetStream redelivers it then; it stays in
   * the consumer's ack-pending count, so `maxAckPending` bounds how many wait at once).
   * `metadata.notBefore` travels in the `Ergon-Not-Before` header: a fetch that gets the
   * message early sends it back with a `-NAK` for the rest of the wait (one delivery of
   * `maxDeliveries`). No priorities.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: true,
    priority: false,
  });
  readonly config: NatsConnectorConfig<P>;
  readonly service: NatsService;

  private readonly ownsService: boolean;
  private readonly logger: Logger;
  /** Fetched, unsettled deliveries: the broker handles stay here, out of the metadata. */
  private readonly deliveries = new Map<Transaction<P>, JetStreamDelivery>();
  private readonly fetches = new Set<Subscriber<Transaction<P>>>();
  private readonly background = new Set<Promise<void>>();
  private readonly disconnected$: Observable<unknown>;
  private fetchReady: Promise<void> | null = null;
  private dispatchReady: Promise<void> | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  /** Why pull requests get no answer (the consumer or stream is gone), `null` while they do. */
  private topologyProblem: string | null = null;

  constructor(
    config: NatsConnectorConfigInput<P> | NatsConnectorConfig<P>,
    options: NatsConnectorOptions = {},
  ) {
    this.config = natsConnectorConfig(config);
    const { url, name, connectTimeout, requestTimeout, pingInterval, reconnect } = this.config;
    this.ownsService = options.service === undefined;
    this.service =
      options.service ??
      new NatsService({ url, name, connectTimeout, requestTimeout, pingInterval, reconnect });
    this.logger = options.logger ?? log.getLogger('ergon.nats');
    this.disconnected$ = this.service.state$.pipe(filter((state) => state !== 'connected'));
  }

  /**
   * Creates or updates the stream, the dead-letter stream and the consumer now (fetch and
   * dispatch otherwise do it on first use). Does nothing more than connect with `declare: false`.
   */
  async declare(): Promise<void> {
    await this.readyToDispatch();
    await this.readyToFetch();
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      if (this.closing !== null) {
        subscriber.error(new ConnectorClosedError('the NATS connector is closed'));
        return;
      }
      let pull: Subscription | null = null;
      let unanswered = false;
      this.fetches.add(subscriber);
      this.liveConnectionForFetch().then(
        (connection) => {
          if (subscriber.closed) return;
          if (connection === null) {
            subscriber.complete();
            return;
          }
          pull = this.pull(connection, request.size, () => (unanswered = true)).subscribe({
            next: (message) => this.receive(message, subscriber),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              if (!unanswered) {
                this.topologyProblem = null;
                subscriber.complete();
                return;
              }
              this.checkTopology().then(
                () => subscriber.complete(),
                (error: unknown) => subscriber.error(error),
              );
            },
          });
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        this.fetches.delete(subscriber);
        pull?.unsubscribe();
      };
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): void | Promise<void> {
    const delivery = this.deliveries.get(transaction);
    if (delivery === undefined) {
      if (this.closing !== null) {
        throw new DeliveryLostError(
          `transaction ${transaction.id} was released when the NATS connector closed`,
        );
      }
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from this connector`,
      );
    }
    this.deliveries.delete(transaction);
    if (decision.type !== 'ack' && delivery.lapsed(this.config.ackWait)) {
      // JetStream has redelivered it (or will): another worker may be running it now, and a
      // -NAK would make a third copy, a +TERM would end the other worker's.
      throw new DeliveryLostError(
        `did not ${decision.type} transaction ${transaction.id}: its lease ran out ` +
          `(ackWait ${this.config.ackWait} ms, last renewed ${Date.now() - delivery.leasedAt} ms ` +
          'ago: a stalled event loop, or renewLease: false), so JetStream redelivers it',
      );
    }
    const connection = this.service.liveConnection;
    if (connection === null) {
      throw new DeliveryLostError(
        `cannot ${decision.type} transaction ${transaction.id}: the NATS connection is down ` +
          `(JetStream redelivers it after ackWait)`,
      );
    }
    switch (decision.type) {
      case 'ack':
        if (this.config.ackConfirm) return this.confirmAck(connection, delivery, transaction.id);
        delivery.ack(connection);
        return;
      case 'release':
        delivery.nak(connection, decision.delay ?? this.config.releaseDelay);
        return;
      case 'deadLetter':
        return this.deadLetter(delivery, transaction.id, { kind: 'failed', error: decision.error });
    }
  }

  /**
   * Publishes each transaction with a PubAck, its id as `Nats-Msg-Id`. A re-sent id within
   * the stream's `duplicateWindow` is not stored again: with the same payload (a retry) it
   * is a success; with another payload (a different transaction with the same id, in this
   * batch or an earlier one) it fails with {@link DispatchConflictError} instead of being
   * dropped silently. (When the first message is no longer in the stream, consumed already,
   * the payloads cannot be compared and the duplicate counts as a retry.)
   *
   * A batch whose `context.signal` aborts before its messages are published (while the
   * connection or the stream is awaited) rejects with `signal.reason`; published messages
   * are waited for (at most `requestTimeout`), and a retry is deduplicated by id.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closing !== null) throw new ConnectorClosedError('the NATS connector is closed');
    const subject = this.config.subject;
    if (subject === null) {
      throw new PolicyError('NATS connector config', [
        {
          path: 'subject',
          expected: 'a subject to publish to (dispatch needs one; `subjects` has wildcards)',
          actual: 'null',
        },
      ]);
    }
    const signal = context?.signal;
    await abortable(this.readyToDispatch(), signal);
    if (!(await abortable(this.service.whenConnected(this.config.requestTimeout), signal))) {
      throw new NatsConnectionError(
        `the NATS connection is down (${this.service.state}); ${transactions.length} ` +
          'transactions were not sent',
      );
    }
    const js = await abortable(this.service.jetstream(), signal);
    signal?.throwIfAborted();
    const stream = this.config.stream;
    const options = { timeout: this.config.requestTimeout, expect: { streamName: stream } };
    const results = await Promise.all(
      transactions.map(async (transaction): Promise<DispatchFailure<P> | null> => {
        try {
          const data = this.config.codec.encode(transaction.payload);
          const ack = await js.publish(subject, data, {
            ...options,
            msgID: transaction.id,
            headers: this.outboundHeaders(transaction),
          });
          if (ack.duplicate && !(await this.storedAs(ack.seq, data))) {
            return {
              transaction,
              error: new DispatchConflictError(transaction.id, `stream ${stream}`),
            };
          }
          return null;
        } catch (error) {
          return { transaction, error };
        }
      }),
    );
    return { failed: results.filter((result): result is DispatchFailure<P> => result !== null) };
  }

  /** Whether the stream's message `seq` holds `data` (or is gone, so it cannot tell). */
  private async storedAs(seq: number, data: Uint8Array): Promise<boolean> {
    const jsm = await this.service.jetstreamManager();
    const stored = await jsm.streams.getMessage(this.config.stream, { seq });
    return stored === null || Buffer.from(stored.data).equals(data);
  }

  /**
   * The dead-letter stream to list, show, redrive into this stream and purge; see
   * {@link NatsDeadLetters}.
   */
  deadLetters(): NatsDeadLetters<P> {
    return new NatsDeadLetters(
      this.service,
      this.config.deadLetter.stream,
      this.config.codec,
      this.config.requestTimeout,
    );
  }

  /** Messages not acknowledged yet: waiting for a first delivery, in flight or released. */
  count(): Observable<number> {
    return defer(async () => {
      await this.readyToFetch();
      const jsm = await this.service.jetstreamManager();
      const info = await jsm.consumers.info(this.config.stream, this.config.consumer);
      return info.num_pending + info.num_ack_pending;
    });
  }

  /**
   * The service's connection state; unhealthy (`state: 'topologyMissing'`) while pull
   * requests go unanswered because the consumer or its stream is gone and could not be
   * declared again.
   */
  health(): Observable<ConnectorHealth> {
    return defer(() => {
      if (this.closing !== null) return of<ConnectorHealth>({ healthy: false, state: 'closed' });
      const problem = this.topologyProblem;
      if (problem === null) return of(this.service.health());
      return of<ConnectorHealth>({ healthy: false, state: 'topologyMissing', detail: problem });
    });
  }

  /**
   * Ends pending fetches, releases (`-NAK`) every unsettled delivery so other workers get it
   * at once, waits briefly for background dead-lettering and a flush, and closes the service
   * if the connector made it. Prompt (about a second at most) and idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    for (const subscriber of [...this.fetches]) subscriber.complete();
    const connection = this.service.liveConnection;
    if (connection !== null) {
      const { ackWait } = this.config;
      for (const delivery of this.deliveries.values()) {
        if (!delivery.lapsed(ackWait)) delivery.nak(connection, 0);
      }
    }
    this.deliveries.clear();
    await waitAtMost(Promise.allSettled([...this.background]), closeWait);
    const live = this.service.liveConnection;
    if (live !== null) await waitAtMost(live.flush(), closeWait);
    if (this.ownsService) await this.service.close();
  }

  private pull(connection: NatsConnection, size: number, unanswered: () => void): Observable<Msg> {
    return jetstreamPull(
      connection,
      {
        stream: this.config.stream,
        consumer: this.config.consumer,
        batch: size,
        expires: this.config.fetchWait,
        grace: pullGrace,
      },
      (message) => this.releaseUnclaimed(message),
      () => this.service.connected,
      unanswered,
    ).pipe(takeUntil(this.disconnected$));
  }

  /** Makes the next fetch and dispatch declare the streams and the consumer again. */
  private redeclare(): void {
    this.fetchReady = null;
    this.dispatchReady = null;
    this.service.forgetDeclarations();
  }

  /**
   * After a pull request the server never answered: asks for the consumer. When it or its
   * stream is gone, declares both again if declaring is this connector's job (`declare`),
   * otherwise rejects with `NatsPullError` and reports unhealthy until a pull is answered.
   * Runs at most once per unanswered pull, so at most every `fetchWait` + 1 s.
   */
  private async checkTopology(): Promise<void> {
    const { stream, consumer, declare } = this.config;
    let missing: string | null;
    try {
      const jsm = await this.service.jetstreamManager();
      await jsm.consumers.info(stream, consumer);
      this.topologyProblem = null;
      return;
    } catch (error) {
      // Anything but "not found" (a timeout, a dropped connection) tells nothing: pull again.
      missing = missingTopology(error, stream, consumer);
      if (missing === null) return;
    }
    if (declare) {
      this.logger.warn(`ergon nats: ${missing}: declaring it again`);
      this.redeclare();
      try {
        await this.readyToFetch();
        this.topologyProblem = null;
        return;
      } catch (error) {
        this.topologyProblem = `${missing}, and declaring it again failed: ${describeError(error)}`;
        throw new NatsPullError(
          `cannot pull from ${stream} > ${consumer}: ${this.topologyProblem}`,
          {
            cause: error,
          },
        );
      }
    }
    this.topologyProblem = `${missing}; declare is false, so create it again (or set declare: true)`;
    this.logger.error(`ergon nats: pull requests get no answer: ${this.topologyProblem}`);
    throw new NatsPullError(`cannot pull from ${stream} > ${consumer}: ${this.topologyProblem}`);
  }

  /** Connects and declares; then the live connection, or `null` if it stays down for `fetchWait`. */
  private async liveConnectionForFetch(): Promise<NatsConnection | null> {
    await this.readyToFetch();
    const live = this.service.liveConnection;
    if (live !== null) return live;
    return (await this.service.whenConnected(this.config.fetchWait))
      ? this.service.liveConnection
      : null;
  }

  private readyToFetch(): Promise<void> {
    if (this.fetchReady === null) {
      const ready = this.declareForFetch();
      this.fetchReady = ready;
      ready.catch(() => {
        if (this.fetchReady === ready) this.fetchReady = null;
      });
    }
    return this.fetchReady;
  }

  private readyToDispatch(): Promise<void> {
    if (this.dispatchReady === null) {
      const ready = this.declareForDispatch();
      this.dispatchReady = ready;
      ready.catch(() => {
        if (this.dispatchReady === ready) this.dispatchReady = null;
      });
    }
    return this.dispatchReady;
  }

  private async declareForDispatch(): Promise<void> {
    await this.service.connect();
    if (!this.config.declare) return;
    const { stream, subjects, retention, storage, duplicateWindow } = this.config;
    await this.service.declareStream({
      name: stream,
      subjects,
      retention,
      storage,
      duplicateWindow,
    });
  }

  private async declareForFetch(): Promise<void> {
    await this.readyToDispatch();
    if (!this.config.declare) return;
    const { deadLetter, storage, duplicateWindow } = this.config;
    await this.service.declareStream({
      name: deadLetter.stream,
      subjects: [deadLetter.subject],
      retention: 'limits',
      storage,
      duplicateWindow,
    });
    await this.service.declareConsumer({
      stream: this.config.stream,
      durable: this.config.consumer,
      filterSubject: this.config.filterSubject,
      ackWait: this.config.ackWait,
      maxAckPending: this.config.maxAckPending,
    });
  }

  private receive(message: Msg, subscriber: Subscriber<Transaction<P>>): void {
    const info = parseDeliveryInfo(message.reply);
    if (info === undefined) {
      subscriber.error(
        new NatsPullError(`a pull request got a message without a JetStream ack subject`),
      );
      return;
    }
    const delivery = new JetStreamDelivery(message, info);
    const early = notBeforeWait(message);
    if (early > 0) {
      // Dispatched for later: back to JetStream for the rest of the wait (one delivery).
      const connection = this.service.liveConnection;
      if (connection !== null) delivery.nak(connection, early);
      return;
    }
    const transaction = this.toTransaction(delivery);
    if (info.deliveryCount > this.config.maxDeliveries) {
      this.inBackground(
        this.deadLetter(delivery, transaction.id, {
          kind: 'maxDeliveries',
          maxDeliveries: this.config.maxDeliveries,
        }),
        `dead-lettering transaction ${transaction.id} after ${info.deliveryCount} deliveries`,
      );
      return;
    }
    this.deliveries.set(transaction, delivery);
    this.renewLeases();
    subscriber.next(transaction);
  }

  private toTransaction(delivery: JetStreamDelivery): Transaction<P> {
    const { message, info } = delivery;
    const headerValues = headerRecord(message.headers);
    const id =
      headerValues[transactionIdHeader] ||
      headerValues['Nats-Msg-Id'] ||
      `${info.stream}:${info.streamSequence}`;
    const key = takeKey(headerValues);
    const metadata: NatsTransactionMetadata = {
      stream: info.stream,
      consumer: info.consumer,
      subject: message.subject,
      sequence: info.streamSequence,
      deliveryCount: info.deliveryCount,
      redelivered: info.deliveryCount > 1,
      timestamp: new Date(info.timestamp).toISOString(),
      headers: headerValues,
      ...traceMetadata(headerValues),
      ...(key === undefined || key === '' ? {} : { key }),
    };
    let payload: P;
    try {
      payload = this.config.codec.decode(message.data);
    } catch (error) {
      return markUndecodable(
        createTransaction(message.data as unknown as P, { id, metadata }),
        error,
      );
    }
    return createTransaction(payload, { id, metadata });
  }

  private outboundHeaders(transaction: Transaction<P>): MsgHdrs {
    const result = headers();
    for (const [key, value] of Object.entries(traceHeaders(transaction))) result.set(key, value);
    const key = transactionKey(transaction);
    if (key !== undefined) result.set(keyHeader, key);
    const notBefore = notBeforeOf(transaction);
    if (notBefore !== undefined) result.set(notBeforeHeader, String(notBefore));
    result.set('Content-Type', this.config.codec.contentType);
    return result;
  }

  private async confirmAck(
    connection: NatsConnection,
    delivery: JetStreamDelivery,
    id: string,
  ): Promise<void> {
    try {
      await delivery.ackConfirmed(connection, this.config.requestTimeout);
    } catch (error) {
      throw new DeliveryLostError(
        `the server did not confirm the ack of transaction ${id} (${describeError(error)}); ` +
          'JetStream redelivers it after ackWait if the ack was lost',
        { cause: error },
      );
    }
  }

  /** Publishes a copy to the dead-letter stream (PubAck), then terminates the original. */
  private async deadLetter(
    delivery: JetStreamDelivery,
    id: string,
    reason: DeadLetterReason,
  ): Promise<void> {
    const { info } = delivery;
    try {
      const js = await this.service.jetstream();
      await js.publish(this.config.deadLetter.subject, delivery.message.data, {
        msgID: `${info.stream}:${info.streamSequence}:dead`,
        headers: deadLetterHeaders(delivery, id, reason),
        timeout: this.config.requestTimeout,
        expect: { streamName: this.config.deadLetter.stream },
      });
    } catch (error) {
      const connection = this.service.liveConnection;
      if (connection === null || isConnectionFailure(error)) {
        throw new DeliveryLostError(
          `could not dead-letter transaction ${id}: ${describeError(error)} ` +
            '(JetStream redelivers it after ackWait)',
          { cause: error },
        );
      }
      delivery.nak(connection, Math.max(this.config.releaseDelay, deadLetterRetryDelay));
      // The dead-letter stream may have been deleted: the next fetch declares it again.
      if (this.config.declare) this.redeclare();
      throw new NatsDeadLetterError(
        `could not publish transaction ${id} to dead-letter stream ` +
          `${this.config.deadLetter.stream}: ${describeError(error)}; released it instead` +
          (this.config.declare ? ' (the next fetch declares the streams again)' : ''),
        { cause: error },
      );
    }
    const connection = this.service.liveConnection;
    if (connection === null) {
      throw new DeliveryLostError(
        `transaction ${id} is in the dead-letter stream, but the connection dropped before ` +
          'it was terminated: JetStream redelivers it (a second dead-lettering within the ' +
          'duplicate window adds no second copy)',
      );
    }
    delivery.term(connection);
  }

  /** A message that arrived for a fetch nobody listens to any more: hand it back now. */
  private releaseUnclaimed(message: Msg): void {
    const info = parseDeliveryInfo(message.reply);
    const connection = this.service.liveConnection;
    if (info !== undefined && connection !== null)
      new JetStreamDelivery(message, info).nak(connection, 0);
  }

  /** Keeps the leases of in-flight deliveries alive every `ackWait / 3` (when `renewLease`). */
  private renewLeases(): void {
    if (this.leaseTimer !== null || !this.config.renewLease || this.closing !== null) return;
    const every = this.config.ackWait / 3;
    this.leaseTimer = setInterval(() => {
      const connection = this.service.liveConnection;
      if (connection === null) return;
      const now = Date.now();
      const due = now - every;
      for (const delivery of this.deliveries.values()) {
        // A lapsed lease (the event loop stalled) is not revived: the message may be another
        // worker's by now; its settlement then reports it lost.
        if (delivery.leasedAt <= due && !delivery.lapsed(this.config.ackWait, now)) {
          delivery.renew(connection);
        }
      }
    }, every);
    this.leaseTimer.unref();
  }

  private inBackground(work: Promise<void>, what: string): void {
    const tracked = work.catch((error: unknown) =>
      this.logger.warn(`ergon nats: ${what} failed: ${describeError(error)}`),
    );
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}

/** How long a message dispatched with a `notBefore` must still wait, in ms (0: not at all). */
function notBeforeWait(message: Msg): number {
  const value = message.headers?.get(notBeforeHeader);
  if (value === undefined || value === '') return 0;
  const notBefore = Number(value);
  return Number.isFinite(notBefore) ? Math.max(0, Math.ceil(notBefore - Date.now())) : 0;
}

/** Removes the {@link keyHeader} header (any case) from `headers`; returns its value. */
function takeKey(headers: Record<string, string>): string | undefined {
  let key: string | undefined;
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() !== 'ergon-key') continue;
    key ??= headers[name];
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a record built here, by header name
    delete headers[name];
  }
  return key;
}

/** The first value of each header, by name. */
function headerRecord(source: MsgHdrs | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  if (source === undefined) return record;
  for (const [key, values] of source) {
    const first = values[0];
    if (first !== undefined) record[key] = first;
  }
  return record;
}
