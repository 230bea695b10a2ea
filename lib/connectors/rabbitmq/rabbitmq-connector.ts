import log from 'loglevel';
import { defer, from, map, Observable, of, type Subscriber } from 'rxjs';
import { describeError } from '../../core/renderers.js';
import type { Logger } from '../../core/logging.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import { abortable, sleep, waitAtMost } from '../../core/waiting.js';
import { ConnectorClosedError, PolicyError, SettlementError } from '../../core/errors.js';
import { notBeforeOf, priorityOf } from '../../core/delivery-schedule.js';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import { jsonCodec, type PayloadCodec } from '../../core/payload-codec.js';
import { traceHeaders } from '../../core/trace-headers.js';
import { transactionKey } from '../../core/transaction-key.js';
import { copyOptions, deadLetterOptions } from './internal/dead-letter-message.js';
import { delayQueueTopology } from './internal/delay-queues.js';
import { RabbitmqDeadLetters } from './rabbitmq-dead-letters.js';
import {
  DeliveredTransaction,
  type Delivery,
  deliveryCount,
  earlierDeliveriesHeader,
  keyHeader,
} from './internal/delivered-transaction.js';
import {
  MaxDeliveriesExceededError,
  RabbitmqDeadLetterError,
  RabbitmqPublishError,
  RabbitmqTopologyError,
} from './errors.js';
import { QueueSubscription, type SubscriptionListener } from './internal/queue-subscription.js';
import {
  rabbitmqConnectorConfig,
  type RabbitmqConnectorConfig,
  type RabbitmqConnectorConfigInput,
} from './rabbitmq-connector-config.js';
import { RabbitmqService } from './rabbitmq-service.js';
import { connectorTopology, type RabbitmqTopology } from './internal/rabbitmq-topology.js';

/**
 * How long a message past `maxDeliveries` whose dead-lettering failed (a full dead-letter
 * queue) is held before it is requeued, to be tried again on its next delivery.
 */
const deadLetterRetryDelay = 1000;

/** A publish nothing routed: no queue bound for its routing key. */
function isUnroutable(error: unknown): boolean {
  return error instanceof RabbitmqPublishError && error.reason === 'unroutable';
}

/** The headers of a dispatched message: the trace context, and the ordering key if any. */
function outboundHeaders(transaction: Transaction): Record<string, string> {
  const headers = traceHeaders(transaction);
  const key = transactionKey(transaction);
  if (key !== undefined) headers[keyHeader] = key;
  return headers;
}

/** Options of a {@link RabbitmqConnector} that are code rather than config. */
export interface RabbitmqConnectorOptions<P> {
  /**
   * A service to share (its connection, reconnects and publish channel). The connector does
   * not close a shared service; without one it creates its own from `config.connection` and
   * closes it in `close()`.
   */
  readonly service?: RabbitmqService;
  /** How payloads become message bodies and back (default {@link jsonCodec}). */
  readonly codec?: PayloadCodec<P>;
  /** The routing key of each dispatched transaction (default `config.publish.routingKey`). */
  readonly routingKeyOf?: (transaction: Transaction<P>) => string;
  /** Where dead-lettering failures and consumer cancellations are reported. */
  readonly logger?: Logger;
}

/**
 * A RabbitMQ queue as a source and destination of transactions (AMQP 0-9-1 through amqplib).
 *
 * - **fetch** registers one consumer on its own channel (once, not per fetch) with prefetch =
 *   `prefetch`, or the size of the first fetch (the loop's capacity), so the local buffer
 *   never outgrows what the loop can take. A fetch returns what is buffered, up to `size`; when
 *   nothing is, it waits up to `fetchWait` for the first delivery and returns at once with it.
 *   Unsubscribing stops the wait; unfetched messages stay in the buffer or with the broker.
 * - **settle**: `ack` → basic.ack; `release` → basic.nack with requeue; `deadLetter` → the
 *   message, with the error in its `x-ergon-error` headers, is published (confirmed) to the
 *   dead-letter exchange, then acked. A message whose channel died throws
 *   `DeliveryLostError` (the broker redelivers it): nothing is acked on a dead channel.
 * - **dispatch** publishes with publisher confirms, `mandatory` (unroutable messages are
 *   failures), persistent, message id = transaction id, trace headers; it reports every
 *   transaction the broker did not confirm.
 * - **Poison messages**: the consumed queue is a quorum queue by default, which counts
 *   deliveries (`x-delivery-count`); a message delivered more than `maxDeliveries` times is
 *   dead-lettered by the connector without being processed. It stays queued until the
 *   dead-letter queue confirmed it (a full one is retried a second later; a deleted one is
 *   declared again): no broker-side `x-delivery-limit`, which would drop it instead.
 * - **Reconnects** with capped backoff (see {@link RabbitmqService}); fetching resumes on a
 *   new channel, with the topology declared again.
 *
 * @example
 * ```ts
 * const connector = new RabbitmqConnector({
 *   connection: { url: 'amqp://guest:guest@127.0.0.1:5672/' },
 *   queue: 'orders',
 * });
 * await connector.dispatch([createTransaction({ sku: 'A-1', quantity: 2 })]);
 * consume(connector, consumerTask({ process: (tx) => ship(tx.payload) }), {
 *   loop: { mode: 'continuous', concurrency: { value: 16 }, streaming: true },
 * }).subscribe();
 * ```
 */
export class RabbitmqConnector<P = unknown> implements Connector<P> {
  /**
   * Delays go through delay queues (`<queue>.delay.<ms>`, one TTL each, rounded up to two
   * significant digits) that dead-letter back to the consumed queue, or for a dispatch with a
   * future `metadata.notBefore` to its exchange and routing key; priorities need
   * `maxPriority` (a classic queue with `x-max-priority`).
   */
  readonly scheduling: ConnectorScheduling;
  readonly config: RabbitmqConnectorConfig;
  readonly service: RabbitmqService;
  private readonly ownsService: boolean;
  private readonly codec: PayloadCodec<P>;
  private readonly routingKeyOf: ((transaction: Transaction<P>) => string) | undefined;
  private readonly logger: Logger;
  private readonly topology: RabbitmqTopology;
  /** Ends each fetch that is waiting (completes it empty). */
  private readonly waitingFetches = new Set<() => void>();
  private readonly pendingDeadLetters = new Set<Promise<void>>();
  private subscription: QueueSubscription | null = null;
  private subscribing: Promise<QueueSubscription> | null = null;
  /** The largest fetch size seen: the prefetch of the next subscription when none is set. */
  private capacity = 1;
  private warnedPrefetch = false;
  private warnedRuntime = false;
  private closing: Promise<void> | null = null;
  private readonly listener: SubscriptionListener = {
    cancelled: (subscription) => {
      if (this.subscription === subscription) this.subscription = null;
      this.service.forget(this.topology);
      if (this.closing === null) {
        this.logger.warn(
          `RabbitMQ: the broker cancelled the consumer of queue "${subscription.queue}" (deleted?); ${this.config.declare ? 'declaring it again and re-subscribing' : 're-subscribing'} on the next fetch`,
        );
      }
    },
    died: (subscription, error) => {
      if (this.subscription === subscription) this.subscription = null;
      if (this.closing === null && error !== undefined)
        this.reportChannelClosed(subscription, error);
    },
    overdue: (subscription, message, age) => {
      this.logger.warn(
        `RabbitMQ: message ${String(message.properties.messageId ?? message.fields.deliveryTag)} of queue "${subscription.queue}" is unsettled after ${age} ms, close to the broker's consumer_timeout (consumerTimeout ${this.config.consumerTimeout} ms): released it, so the broker does not close the channel and redeliver every other message of it. The transaction still runs and the message is delivered again: keep transactionRuntime.timeout below ${this.releaseAfter} ms`,
      );
    },
  };

  constructor(
    config: RabbitmqConnectorConfigInput | RabbitmqConnectorConfig,
    options: RabbitmqConnectorOptions<P> = {},
  ) {
    this.config = rabbitmqConnectorConfig(config);
    this.logger = options.logger ?? log.getLogger('ergon.rabbitmq');
    this.ownsService = options.service === undefined;
    this.service =
      options.service ?? new RabbitmqService(this.config.connection, { logger: this.logger });
    this.codec = options.codec ?? (jsonCodec as PayloadCodec<P>);
    this.routingKeyOf = options.routingKeyOf;
    this.topology = connectorTopology(this.config);
    if (this.config.maxPriority !== null && this.config.queueType !== 'classic') {
      throw new PolicyError('RabbitMQ connector config', [
        {
          path: 'maxPriority',
          expected: `null with queueType '${this.config.queueType}' (priorities need queueType: 'classic')`,
          actual: String(this.config.maxPriority),
        },
      ]);
    }
    this.scheduling = Object.freeze({
      delayedRelease: true,
      notBefore: true,
      priority: this.config.maxPriority !== null,
    });
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      if (this.closing !== null) {
        subscriber.error(new ConnectorClosedError('the RabbitMQ connector is closed'));
        return;
      }
      if (this.config.queue === null) {
        subscriber.error(
          new RabbitmqTopologyError('this connector has no queue to fetch from (queue: null)'),
        );
        return;
      }
      this.capacity = Math.max(this.capacity, request.size);
      if (request.transactionTimeout !== undefined)
        this.warnOnLongRuntime(request.transactionTimeout);
      const current = this.subscription;
      if (current !== null && current.buffer.length > 0) {
        this.emit(current, subscriber, request.size);
        return;
      }
      return this.waitForDeliveries(subscriber, request.size);
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): void | Promise<void> {
    const delivery = DeliveredTransaction.claim(transaction);
    if (delivery === undefined) {
      throw new SettlementError(
        `transaction ${transaction.id} was settled twice or was not fetched from this connector`,
      );
    }
    const { subscription, message } = delivery;
    switch (decision.type) {
      case 'ack':
        subscription.ack(message);
        return;
      case 'release':
        if ((decision.delay ?? 0) > 0) return this.holdBack(delivery, decision.delay ?? 0);
        subscription.nack(message, true);
        return;
      case 'deadLetter':
        return this.deadLetter(delivery, decision.error);
    }
  }

  /**
   * Publishes the batch with confirms and resolves once the broker confirmed (or refused)
   * every message. When `context.signal` aborts (attempt timeout, stop), nothing more is
   * published: if nothing was, it rejects with `signal.reason` (safe to retry); otherwise
   * the messages not published are reported failed with that reason, and those already
   * written — which cannot be taken back, e.g. buffered behind a broker memory alarm — are
   * waited for and reported as the broker confirms them. A retry therefore never
   * republishes a message an earlier attempt may still deliver.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closing !== null) throw new ConnectorClosedError('the RabbitMQ connector is closed');
    if (transactions.length === 0) return { failed: [] };
    const signal = context?.signal;
    await abortable(this.declare(), signal);
    const publisher = await abortable(this.service.confirmPublisher(), signal);
    const { exchange, persistent } = this.config.publish;
    const contentType = this.codec.contentType;
    const failures = new Array<DispatchFailure<P> | undefined>(transactions.length);
    let published = 0;
    let unconfirmed = 0;
    let allConfirmed: (() => void) | undefined;
    for (let index = 0; index < transactions.length; index++) {
      if (signal?.aborted === true) {
        if (published === 0) throw signal.reason as Error;
        for (let rest = index; rest < transactions.length; rest++) {
          failures[rest] ??= {
            transaction: transactions[rest] as Transaction<P>,
            error: signal.reason,
          };
        }
        break;
      }
      const transaction = transactions[index] as Transaction<P>;
      let body: Buffer;
      let routingKey: string;
      let notBefore: number | undefined;
      let priority: number | undefined;
      try {
        notBefore = notBeforeOf(transaction);
        priority = priorityOf(transaction);
        const encoded = this.codec.encode(transaction.payload);
        body = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
        routingKey = this.routingKeyOf?.(transaction) ?? this.config.publish.routingKey;
      } catch (error) {
        failures[index] = { transaction, error };
        continue;
      }
      const options = {
        messageId: transaction.id,
        contentType,
        persistent,
        mandatory: true,
        headers: outboundHeaders(transaction),
        ...(priority === undefined || this.config.maxPriority === null ? {} : { priority }),
      } as const;
      // Dispatched for later: into the delay queue that dead-letters it to its target then.
      let target = { exchange, routingKey };
      const wait = notBefore === undefined ? 0 : notBefore - Date.now();
      if (wait > 0) {
        const delayed = delayQueueTopology(exchange, routingKey, wait);
        try {
          await abortable(this.declareDelayQueue(delayed.topology), signal);
        } catch (error) {
          failures[index] = { transaction, error };
          continue;
        }
        target = { exchange: '', routingKey: delayed.name };
      }
      published++;
      unconfirmed++;
      publisher.send(target.exchange, target.routingKey, body, options, (error) => {
        if (error !== undefined) failures[index] = { transaction, error };
        if (--unconfirmed === 0) allConfirmed?.();
      });
      if (!publisher.hasRoom)
        await abortable(publisher.whenWritable(), signal).catch(() => undefined);
    }
    if (unconfirmed > 0) await new Promise<void>((resolve) => (allConfirmed = resolve));
    return { failed: failures.filter((failure) => failure !== undefined) };
  }

  /**
   * Declares the configured topology now (or, with `declare: false`, checks that the queue
   * exists), instead of on the first fetch or dispatch: to fail fast at start-up. Once per
   * connection; waits at most `connectTimeout` for the connection.
   *
   * @throws RabbitmqTopologyError when the broker refuses a declaration.
   */
  async declare(): Promise<void> {
    this.throwIfClosed();
    const model = await this.service.connection(this.config.connection.connectTimeout);
    await this.service.declare(this.topology, model);
  }

  /** Messages ready in the queue (not counting the ones delivered and not yet acked). */
  count(): Observable<number> {
    return defer(() => {
      const queue = this.config.queue;
      if (queue === null) {
        throw new RabbitmqTopologyError('this connector has no queue to count (queue: null)');
      }
      return from(this.service.queueStatus(queue));
    }).pipe(map((status) => status.messageCount));
  }

  /**
   * `consuming` while the consumer is registered; otherwise the service's state
   * (`connecting`, `reconnecting`, `failed`, …); `closed` after `close()`.
   */
  /**
   * The dead-letter queue to list, show, redrive into the consumed queue and purge; see
   * {@link RabbitmqDeadLetters}.
   *
   * @throws RabbitmqDeadLetterError when the connector has no dead-letter queue (`deadLetter: false`).
   */
  deadLetters(): RabbitmqDeadLetters<P> {
    const target = this.config.deadLetter;
    if (target === false) {
      throw new RabbitmqDeadLetterError(
        `connector of queue "${String(this.config.queue)}" has no dead-letter queue (deadLetter: false): there are no dead letters to read`,
      );
    }
    return new RabbitmqDeadLetters(this.service, target, this.codec);
  }

  health(): Observable<ConnectorHealth> {
    return defer(() => of(this.currentHealth()));
  }

  /**
   * Stops fetching (waiting fetches complete empty), lets dead-letter publishes in progress
   * finish for up to a second, closes the consume channel — the broker requeues every
   * message fetched and not yet settled, and every buffered one, for other consumers — and
   * closes the service when the connector created it. Settling a transaction afterwards
   * throws `DeliveryLostError` (it is reported released). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const end of [...this.waitingFetches]) end();
    await waitAtMost(Promise.allSettled([...this.pendingDeadLetters]), 1000);
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
    if (this.ownsService) await this.service.close();
  }

  /**
   * Waits up to `fetchWait` for a subscription with deliveries; returns the teardown. The wait
   * counts from the moment the consumer is registered: while the connection, the topology and
   * the consumer are still being set up (and no connection attempt has failed), an expired
   * wait is extended, so a slow start is not taken for an empty queue (a non-streaming loop
   * would end on it). Once an attempt failed (the service is reconnecting), the fetch
   * completes empty after `fetchWait` as before.
   */
  private waitForDeliveries(subscriber: Subscriber<Transaction<P>>, size: number): () => void {
    let finished = false;
    let extended = false;
    let stopWaiting: (() => void) | null = null;
    const finish = (): void => {
      finished = true;
      clearTimeout(timer);
      stopWaiting?.();
      stopWaiting = null;
      this.waitingFetches.delete(end);
    };
    const end = (): void => {
      if (finished) return;
      finish();
      subscriber.complete();
    };
    const serve = (subscription: QueueSubscription): void => {
      if (finished) return;
      if (extended) {
        // The consumer was registered after the wait ran out: wait `fetchWait` from now.
        extended = false;
        clearTimeout(timer);
        timer = setTimeout(expire, this.config.fetchWait);
      }
      if (subscription.buffer.length > 0) {
        finish();
        this.emit(subscription, subscriber, size);
      } else if (subscription.consuming) {
        stopWaiting = subscription.wait(() => {
          stopWaiting = null;
          serve(subscription);
        });
      } else {
        attach();
      }
    };
    const fail = (error: unknown): void => {
      if (finished) return;
      finish();
      subscriber.error(error);
    };
    const attach = (): void => {
      this.ensureSubscription().then(serve, fail);
    };
    const expire = (): void => {
      if (finished) return;
      if (!this.establishing()) {
        end();
        return;
      }
      extended = true;
      timer = setTimeout(expire, this.config.fetchWait);
    };
    let timer = setTimeout(expire, this.config.fetchWait);
    this.waitingFetches.add(end);
    attach();
    return finish;
  }

  /** Emits up to `size` buffered messages as transactions, then completes. */
  private emit(
    subscription: QueueSubscription,
    subscriber: Subscriber<Transaction<P>>,
    size: number,
  ): void {
    let emitted = 0;
    while (emitted < size && !subscriber.closed) {
      const message = subscription.take();
      if (message === undefined) break;
      const delivery: Delivery = { subscription, message, deliveries: deliveryCount(message) };
      if (delivery.deliveries > this.config.maxDeliveries) {
        const error = new MaxDeliveriesExceededError(
          delivery.deliveries,
          this.config.maxDeliveries,
        );
        this.deadLetterInBackground(delivery, error);
        continue;
      }
      emitted++;
      subscriber.next(DeliveredTransaction.from(delivery, this.codec));
    }
    subscriber.complete();
  }

  /** The consumer is being set up and no connection attempt has failed so far. */
  private establishing(): boolean {
    const { state } = this.service;
    return (
      this.subscribing !== null &&
      (state === 'idle' || state === 'connecting' || state === 'connected')
    );
  }

  private ensureSubscription(): Promise<QueueSubscription> {
    const current = this.subscription;
    if (current !== null && current.consuming) return Promise.resolve(current);
    if (this.subscribing === null) {
      const subscribing = this.subscribe(this.config.queue as string);
      const clear = (): void => {
        if (this.subscribing === subscribing) this.subscribing = null;
      };
      subscribing.then(clear, clear);
      this.subscribing = subscribing;
    }
    return this.subscribing;
  }

  /**
   * Connects (waiting out reconnects), declares the topology and registers the consumer. A
   * connection that drops meanwhile is waited for again; a refusal by the broker rejects.
   */
  private async subscribe(queue: string): Promise<QueueSubscription> {
    for (;;) {
      const model = await this.service.connection(this.service.config.connectTimeout);
      this.throwIfClosed();
      try {
        await this.service.declare(this.topology, model);
        const prefetch = this.config.prefetch ?? this.capacity;
        this.warnOnIdlePrefetch(prefetch);
        const { consumerTimeout } = this.config;
        const subscription = await QueueSubscription.open(model, queue, prefetch, this.listener, {
          releaseAfter: this.releaseAfter,
          checkEvery: Math.min(Math.max(consumerTimeout / 20, 50), 30_000),
        });
        if (this.closing !== null) {
          await subscription.close();
          this.throwIfClosed();
        }
        this.subscription = subscription;
        return subscription;
      } catch (error) {
        this.throwIfClosed();
        this.service.forget(this.topology);
        if (this.service.isCurrent(model)) {
          throw error instanceof RabbitmqTopologyError
            ? error
            : new RabbitmqTopologyError(
                `consuming queue "${queue}" failed: ${describeError(error)}`,
                {
                  cause: error,
                },
              );
        }
      }
    }
  }

  /**
   * A retry-later: publishes a copy of the message (with its deliveries so far) to the delay
   * queue that dead-letters it back to the consumed queue after `delay` (rounded up to its
   * bucket), waits for the broker's confirm, then acks the original. Should the copy not be
   * taken, the message is requeued at once and the settlement rejects saying so.
   */
  private async holdBack(delivery: Delivery, delay: number): Promise<void> {
    const { subscription, message, deliveries } = delivery;
    subscription.requireAlive(message);
    const { name, topology } = delayQueueTopology('', subscription.queue, delay);
    const headers: Record<string, unknown> = { ...message.properties.headers };
    delete headers['x-delivery-count'];
    delete headers['x-death'];
    headers[earlierDeliveriesHeader] = deliveries;
    try {
      await this.declareDelayQueue(topology);
      await this.service.publish('', name, message.content, copyOptions(message, headers));
    } catch (error) {
      subscription.nack(message, true);
      throw new RabbitmqTopologyError(
        `could not hold message ${String(message.properties.messageId ?? '(no id)')} back for ${delay} ms in delay queue "${name}" (${describeError(error)}); requeued it for redelivery now`,
        { cause: error },
      );
    }
    subscription.ack(message);
  }

  /** Declares a delay queue again before each use, which renews its `x-expires`. */
  private async declareDelayQueue(topology: RabbitmqTopology): Promise<void> {
    const model = await this.service.connection(this.config.connection.connectTimeout);
    this.service.forget(topology);
    await this.service.declare(topology, model);
  }

  /**
   * Publishes the message with the error in its headers to the dead-letter exchange (waiting
   * for the broker's confirm), then acks it. A publish that nothing routes (the dead-letter
   * queue was deleted) declares the topology again and publishes once more. If the publish
   * still fails the message is requeued instead (after `requeueAfter` ms, so a full
   * dead-letter queue is not retried in a tight loop), and the settlement rejects with a
   * {@link RabbitmqDeadLetterError}.
   */
  private async deadLetter(delivery: Delivery, error: unknown, requeueAfter = 0): Promise<void> {
    const { subscription, message, deliveries } = delivery;
    const target = this.config.deadLetter;
    if (target === false) {
      subscription.nack(message, false);
      return;
    }
    subscription.requireAlive(message);
    const options = deadLetterOptions(message, subscription.queue, error, deliveries);
    const publish = (): Promise<void> =>
      this.service.publish(target.exchange, target.routingKey, message.content, options);
    try {
      await publish().catch(async (publishError: unknown) => {
        if (!this.config.declare || !isUnroutable(publishError)) throw publishError;
        this.logger.warn(
          `RabbitMQ: nothing is bound to dead-letter exchange "${target.exchange}" for "${target.routingKey}" (was queue "${target.queue}" deleted?); declaring it again`,
        );
        this.service.forget(this.topology);
        await this.declare();
        await publish();
      });
    } catch (publishError) {
      if (requeueAfter > 0) await sleep(requeueAfter, { unref: true });
      subscription.nack(message, true);
      throw new RabbitmqDeadLetterError(
        `could not dead-letter message ${String(message.properties.messageId ?? '(no id)')} to exchange "${target.exchange}"; requeued it: ${describeError(publishError)}`,
        { cause: publishError },
      );
    }
    subscription.ack(message);
  }

  private deadLetterInBackground(delivery: Delivery, error: unknown): void {
    // Held no longer than a quarter of what the consumer-timeout guard allows.
    const holdFor = Math.min(deadLetterRetryDelay, this.releaseAfter / 4);
    const pending = this.deadLetter(delivery, error, holdFor).catch((failure: unknown) => {
      this.logger.warn(`RabbitMQ: ${describeError(failure)}`);
    });
    this.pendingDeadLetters.add(pending);
    void pending.then(() => this.pendingDeadLetters.delete(pending));
  }

  private currentHealth(): ConnectorHealth {
    if (this.closing !== null) return { healthy: false, state: 'closed' };
    const service = this.service.health();
    const subscription = this.subscription;
    if (service.state !== 'connected' || subscription === null || !subscription.consuming) {
      return service;
    }
    return {
      healthy: true,
      state: 'consuming',
      detail: `queue "${subscription.queue}": ${subscription.buffer.length} buffered, ${subscription.unsettled} unsettled`,
    };
  }

  /** When a delivery still unsettled is released: before the broker's `consumer_timeout`. */
  private get releaseAfter(): number {
    return Math.floor(this.config.consumerTimeout * 0.8);
  }

  /** Says once that transactions may outlive the broker's `consumer_timeout`. */
  private warnOnLongRuntime(timeout: number | null): void {
    if (this.warnedRuntime || (timeout !== null && timeout < this.releaseAfter)) return;
    this.warnedRuntime = true;
    this.logger.warn(
      `RabbitMQ: transactionRuntime.timeout (${timeout === null ? 'none' : `${timeout} ms`}) does not end transactions before the broker's consumer_timeout of queue "${String(this.config.queue)}" (consumerTimeout ${this.config.consumerTimeout} ms): a longer one is released at ${this.releaseAfter} ms while it still runs, and delivered again. Set transactionRuntime.timeout below ${this.releaseAfter} ms, or raise consumer_timeout (x-consumer-timeout on RabbitMQ 3.12+, rabbitmq.conf before) and consumerTimeout with it`,
    );
  }

  /** The broker closed the consume channel: says why, plainly for a consumer timeout. */
  private reportChannelClosed(subscription: QueueSubscription, error: unknown): void {
    const text = describeError(error);
    if (/delivery acknowledgement on channel \d+ timed out/.test(text)) {
      this.logger.error(
        `RabbitMQ: the broker closed the consume channel of queue "${subscription.queue}" because a delivery stayed unacknowledged past its consumer_timeout (${text}). Every unsettled message of that channel is delivered again, finished ones included. Set consumerTimeout to the broker's value (now ${this.config.consumerTimeout} ms) so the connector releases an overdue delivery first, and keep transactionRuntime.timeout below 80 % of it`,
      );
      return;
    }
    this.logger.warn(
      `RabbitMQ: the broker closed the consume channel of queue "${subscription.queue}": ${text}; its unsettled messages are delivered again`,
    );
  }

  /**
   * Lesson of the Python reference: prefetched messages nobody asked for sit idle. Says
   * "exceeds loop concurrency", the reference's words.
   */
  private warnOnIdlePrefetch(prefetch: number): void {
    if (prefetch <= this.capacity || this.warnedPrefetch) return;
    this.warnedPrefetch = true;
    this.logger.warn(
      `RabbitMQ: prefetch ${prefetch} exceeds loop concurrency (the largest fetch, ${this.capacity}) of queue "${String(this.config.queue)}": up to ${prefetch - this.capacity} messages wait unprocessed in memory, and may hit the broker's consumer_timeout; set prefetch to at most the loop's concurrency, or leave it unset to follow it`,
    );
  }

  private throwIfClosed(): void {
    if (this.closing !== null) throw new ConnectorClosedError('the RabbitMQ connector is closed');
  }
}
