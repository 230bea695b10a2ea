import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DeliveryLostError } from '../../../core/errors.js';
import { FifoQueue } from '../../../core/fifo-queue.js';
import { noop, waitAtMost } from '../../../core/waiting.js';

/** What a {@link QueueSubscription} tells its owner. */
export interface SubscriptionListener {
  /** The broker cancelled the consumer (its queue was deleted, say). */
  cancelled(subscription: QueueSubscription): void;
  /**
   * The channel closed (its connection dropped, or the broker closed it): `error` is the
   * broker's reason when it closed the channel itself (a delivery past `consumer_timeout`, …).
   */
  died(subscription: QueueSubscription, error: unknown): void;
  /**
   * `message`, fetched and not settled, was delivered `age` ms ago, close to the broker's
   * `consumer_timeout`: it was released (requeued) so the broker does not close the channel.
   */
  overdue(subscription: QueueSubscription, message: ConsumeMessage, age: number): void;
}

/**
 * When deliveries are released before the broker's `consumer_timeout` runs out: `releaseAfter`
 * ms after delivery, checked every `checkEvery` ms.
 */
export interface OverdueGuard {
  readonly releaseAfter: number;
  readonly checkEvery: number;
}

/**
 * One `basic.consume` of one queue on its own channel: a channel "epoch". Deliveries wait in a
 * local FIFO until a fetch takes them; the broker's prefetch bounds that buffer, so it never
 * holds more than `prefetch` minus the messages already fetched and not yet settled.
 *
 * A subscription is never reused once its channel died: its buffer is dropped (the broker
 * redelivers those messages) and settling a message of it throws {@link DeliveryLostError},
 * so nothing is acknowledged on a dead channel and nothing stale is handed out after a
 * reconnect. When the broker cancels the consumer, the buffered messages are requeued and the
 * channel is closed as soon as the messages already fetched from it are settled.
 *
 * The broker closes the whole channel when one delivery stays unacknowledged past its
 * `consumer_timeout`, redelivering every unsettled message of it, finished ones included. So
 * a delivery still unsettled `releaseAfter` ms after it arrived is released on its own
 * (requeued) first: only that one is delivered again, and its late settlement throws
 * {@link DeliveryLostError}.
 */
export class QueueSubscription {
  /** Delivered, not yet fetched. */
  readonly buffer = new FifoQueue<ConsumeMessage>();
  /** The channel is open: settlements can go through. */
  alive = true;
  /** The consumer is registered: new deliveries may arrive. */
  consuming = true;
  /** Fetched from this subscription and not yet settled. */
  unsettled = 0;
  private waiters = new Set<() => void>();
  private wakeQueued = false;
  private closing: Promise<void> | null = null;
  /**
   * When each message not settled yet arrived (fetched ones first, then buffered ones: a
   * fetch takes the oldest buffered message, and a `Map` iterates in insertion order).
   */
  private readonly arrivals = new Map<ConsumeMessage, number>();
  /**
   * The time of the last overdue check: what a delivery is stamped with (reading the clock per
   * message cost more than the rest of the bookkeeping). A stamp is at most `checkEvery` early,
   * so a delivery is released at most that much sooner.
   */
  private clock = Date.now();
  private readonly guardTimer: ReturnType<typeof setInterval>;
  /** Why the broker closed the channel, when it did. */
  private closeError: unknown = undefined;
  /** Delivery tags acknowledged since the last flush, sent together by {@link flushAcks}. */
  private acks: number[] = [];
  private flushQueued = false;

  private constructor(
    private readonly channel: Channel,
    readonly queue: string,
    private readonly listener: SubscriptionListener,
    private readonly guard: OverdueGuard,
  ) {
    this.guardTimer = setInterval(() => this.releaseOverdue(), guard.checkEvery);
    this.guardTimer.unref();
  }

  /**
   * Opens a channel on `model`, sets its prefetch and registers the one consumer of `queue`.
   * Rejects (with the channel closed) when the broker refuses any step.
   *
   * @example
   * ```ts
   * const subscription = await QueueSubscription.open(model, 'orders', 16, listener);
   * const message = subscription.take(); // undefined until a delivery arrived
   * if (message !== undefined) subscription.ack(message);
   * ```
   */
  static async open(
    model: ChannelModel,
    queue: string,
    prefetch: number,
    listener: SubscriptionListener,
    guard: OverdueGuard,
  ): Promise<QueueSubscription> {
    const channel = await model.createChannel();
    const subscription = new QueueSubscription(channel, queue, listener, guard);
    // A channel error is followed by 'close' (which reports it); listening also keeps it from
    // crashing the process.
    channel.on('error', (error: unknown) => (subscription.closeError = error));
    channel.on('close', () => subscription.died());
    try {
      await channel.prefetch(prefetch);
      await channel.consume(
        queue,
        (message) =>
          message === null ? subscription.cancelled() : subscription.delivered(message),
        { noAck: false },
      );
    } catch (error) {
      subscription.alive = subscription.consuming = false;
      clearInterval(subscription.guardTimer);
      channel.close().catch(() => undefined);
      throw error;
    }
    return subscription;
  }

  /**
   * Calls `wake` once, after the current burst of deliveries has been buffered, when the
   * buffer is no longer empty or the consumer stopped. Returns a function that stops waiting.
   */
  wait(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** Takes the oldest buffered message, counting it as unsettled. */
  take(): ConsumeMessage | undefined {
    const message = this.buffer.shift();
    if (message !== undefined) this.unsettled++;
    return message;
  }

  /**
   * Acknowledges a taken message. The acknowledgement is sent with the others of the same turn
   * of the event loop: one `basic.ack` with `multiple` for those below every message still held,
   * one each for the rest (see {@link flushAcks}). @throws DeliveryLostError when the channel is
   * gone.
   */
  ack(message: ConsumeMessage): void {
    this.settleWith(message, () => {
      this.acks.push(message.fields.deliveryTag);
      if (this.flushQueued) return;
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.flushAcks();
      });
    });
  }

  /**
   * Rejects a taken message: back to the queue (`requeue`), else to the queue's dead-letter
   * exchange (or dropped when it has none). @throws DeliveryLostError when the channel is gone.
   */
  nack(message: ConsumeMessage, requeue: boolean): void {
    this.settleWith(message, () => this.channel.nack(message, false, requeue));
  }

  /**
   * Checks, before work that must precede settling `message`, that its channel is still open
   * and the message still held (not released as overdue).
   * @throws DeliveryLostError (the message counts as settled here) when it is gone.
   */
  requireAlive(message: ConsumeMessage): void {
    if (this.alive && this.arrivals.has(message)) return;
    this.unsettled--;
    throw this.alive ? this.overdueError(message) : this.lostError(message);
  }

  /**
   * Closes the channel: the broker requeues every unacknowledged message, buffered or
   * fetched. Waits at most about a second for the broker. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.alive) this.flushAcks();
    const wasAlive = this.alive;
    this.alive = this.consuming = false;
    this.buffer.drain();
    this.arrivals.clear();
    clearInterval(this.guardTimer);
    this.wakeAll();
    this.closing = wasAlive ? waitAtMost(this.channel.close(), 1000).then(noop) : Promise.resolve();
    return this.closing;
  }

  private settleWith(message: ConsumeMessage, settle: () => void): void {
    this.unsettled--;
    if (!this.alive) throw this.lostError(message);
    if (!this.arrivals.delete(message)) throw this.overdueError(message);
    try {
      settle();
    } catch (error) {
      throw this.lostError(message, error);
    }
    if (!this.consuming && this.unsettled === 0) void this.close();
  }

  /**
   * Sends the acknowledgements gathered since the last flush. Delivery tags grow with each
   * delivery on a channel, and `arrivals` holds every message not settled yet in delivery
   * order, so every tag below its first one is settled: acknowledged now, or acknowledged or
   * rejected earlier (frames on a channel are handled in order). The largest acknowledged tag
   * below that first one goes as one `basic.ack` with `multiple`; the tags above it one by
   * one. A processed batch settled together thus costs the broker one frame instead of one
   * per message.
   */
  private flushAcks(): void {
    const tags = this.acks;
    if (tags.length === 0 || !this.alive) return;
    this.acks = [];
    let held = Infinity;
    for (const message of this.arrivals.keys()) {
      held = message.fields.deliveryTag;
      break;
    }
    let upTo = -1;
    const single: number[] = [];
    for (const tag of tags) {
      if (tag < held) upTo = Math.max(upTo, tag);
      else single.push(tag);
    }
    try {
      if (upTo >= 0) this.channel.ack(tagged(upTo), true);
      for (const tag of single) this.channel.ack(tagged(tag));
    } catch {
      // The channel is closing: the broker redelivers what was not acknowledged.
    }
  }

  private lostError(message: ConsumeMessage, cause?: unknown): DeliveryLostError {
    return new DeliveryLostError(
      `the channel of message ${String(message.properties.messageId ?? message.fields.deliveryTag)} from queue "${this.queue}" closed; the broker redelivers it`,
      { cause },
    );
  }

  private overdueError(message: ConsumeMessage): DeliveryLostError {
    return new DeliveryLostError(
      `message ${String(message.properties.messageId ?? message.fields.deliveryTag)} from queue "${this.queue}" stayed unsettled for over ${this.guard.releaseAfter} ms, close to the broker's consumer_timeout: it was released so the broker would not close the channel, and is delivered again`,
    );
  }

  private delivered(message: ConsumeMessage): void {
    this.arrivals.set(message, this.clock);
    this.buffer.push(message);
    this.scheduleWake();
  }

  /**
   * Requeues every delivery that arrived `releaseAfter` ms ago or earlier and is not settled:
   * fetched ones (their settlement then throws) and buffered ones.
   */
  private releaseOverdue(): void {
    const now = (this.clock = Date.now());
    if (!this.alive || this.arrivals.size === 0) return;
    const limit = now - this.guard.releaseAfter;
    let fetched = this.arrivals.size - this.buffer.length;
    for (const [message, arrived] of this.arrivals) {
      if (arrived > limit) break;
      if (fetched-- > 0) {
        if (!this.requeue(message)) return;
        this.listener.overdue(this, message, now - arrived);
      } else {
        // The oldest buffered message: the head of the buffer.
        this.buffer.shift();
        if (!this.requeue(message)) return;
      }
    }
  }

  /** Requeues one delivery; false when the channel refused (it is closing). */
  private requeue(message: ConsumeMessage): boolean {
    this.arrivals.delete(message);
    try {
      this.channel.nack(message, false, true);
      return true;
    } catch {
      return false;
    }
  }

  private cancelled(): void {
    if (!this.consuming) return;
    this.consuming = false;
    for (let message = this.buffer.shift(); message !== undefined; message = this.buffer.shift()) {
      this.arrivals.delete(message);
      try {
        this.channel.nack(message, false, true);
      } catch {
        break;
      }
    }
    this.wakeAll();
    this.listener.cancelled(this);
    if (this.unsettled === 0) void this.close();
  }

  private died(): void {
    clearInterval(this.guardTimer);
    if (!this.alive && this.closing !== null) return;
    this.alive = this.consuming = false;
    this.buffer.drain();
    this.arrivals.clear();
    this.closing ??= Promise.resolve();
    this.wakeAll();
    this.listener.died(this, this.closeError);
  }

  /**
   * Wakes waiters in a microtask: amqplib parses a whole socket read synchronously, so every
   * message of that read is buffered before a fetch drains the buffer.
   */
  private scheduleWake(): void {
    if (this.wakeQueued || this.waiters.size === 0) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      this.wakeAll();
    });
  }

  private wakeAll(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** What amqplib's `ack` reads of a message: its delivery tag. */
function tagged(deliveryTag: number): ConsumeMessage {
  return { fields: { deliveryTag } } as ConsumeMessage;
}
