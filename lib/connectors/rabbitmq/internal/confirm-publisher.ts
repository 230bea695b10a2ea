import type { ConfirmChannel, Message, Options } from 'amqplib';
import { describeError } from '../../../core/renderers.js';
import { RabbitmqPublishError } from '../errors.js';

/** A publish waiting for its broker confirm. */
interface PendingPublish {
  readonly messageId: unknown;
  readonly exchange: string;
  readonly routingKey: string;
  returned: boolean;
}

/**
 * A confirm-mode channel that publishes every message `mandatory` and resolves each publish
 * only when the broker confirmed it. An unroutable message comes back as `basic.return` just
 * before its confirm (AMQP orders them so); it is matched to the oldest pending publish with
 * the same message id, exchange and routing key, and that publish rejects with reason
 * `unroutable` instead of resolving.
 *
 * @example
 * ```ts
 * const publisher = new ConfirmPublisher(await model.createConfirmChannel());
 * await publisher.publish('', 'orders', body, { messageId: 'tx-1', persistent: true });
 * ```
 */
export class ConfirmPublisher {
  /** Unconfirmed publishes in publish order (a `Set` iterates in insertion order). */
  private readonly pending = new Set<PendingPublish>();
  private writable = true;
  private drainWaiters: (() => void)[] = [];
  private open = true;

  constructor(private readonly channel: ConfirmChannel) {
    channel.on('return', (message: Message) => this.returned(message));
    channel.on('drain', () => this.drained());
    channel.on('close', () => {
      this.open = false;
      this.drained();
    });
    // A channel error is followed by 'close'; listening keeps it from crashing the process.
    channel.on('error', () => undefined);
  }

  /** Whether the channel can still publish. */
  get usable(): boolean {
    return this.open;
  }

  /**
   * Publishes one message; resolves on the broker's ack, rejects with a
   * {@link RabbitmqPublishError} on a nack, a return or a channel closed before the confirm.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.send(exchange, routingKey, content, { ...options, mandatory: true }, (error) =>
        error === undefined ? resolve() : reject(error),
      ),
    );
  }

  /**
   * Publishes one message and calls `confirmed` once: with nothing on the broker's ack, with a
   * {@link RabbitmqPublishError} on a nack, a return or a channel closed before the confirm.
   * For batches, where a promise per message would cost more than the publish. The options say
   * `mandatory: true` themselves, so that a batch needs no copy of each.
   */
  send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish & { readonly mandatory: true },
    confirmed: (error: RabbitmqPublishError | undefined) => void,
  ): void {
    const record: PendingPublish = {
      messageId: options.messageId,
      exchange,
      routingKey,
      returned: false,
    };
    this.pending.add(record);
    const settle = (error: unknown): void => {
      this.pending.delete(record);
      if (error !== null && error !== undefined) {
        confirmed(this.failure(error, exchange, routingKey));
      } else if (record.returned) {
        confirmed(
          new RabbitmqPublishError(
            'unroutable',
            `no queue is bound to exchange "${exchange}" for routing key "${routingKey}"`,
          ),
        );
      } else {
        confirmed(undefined);
      }
    };
    try {
      this.writable = this.channel.publish(exchange, routingKey, content, options, settle);
    } catch (error) {
      this.pending.delete(record);
      confirmed(this.failure(error, exchange, routingKey));
    }
  }

  /** Whether the channel's write buffer has room (else wait with {@link whenWritable}). */
  get hasRoom(): boolean {
    return this.writable || !this.open;
  }

  /** Resolves once the channel's write buffer drained (at once when it is not full). */
  whenWritable(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes the channel; unconfirmed publishes reject with `channelClosed`. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.channel.close().catch(() => undefined);
  }

  private returned(message: Message): void {
    for (const record of this.pending) {
      if (
        !record.returned &&
        record.messageId === message.properties.messageId &&
        record.exchange === message.fields.exchange &&
        record.routingKey === message.fields.routingKey
      ) {
        record.returned = true;
        return;
      }
    }
  }

  private drained(): void {
    this.writable = true;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private failure(error: unknown, exchange: string, routingKey: string): RabbitmqPublishError {
    const target = `exchange "${exchange}", routing key "${routingKey}"`;
    if (this.open && error instanceof Error && /nack/i.test(error.message)) {
      return new RabbitmqPublishError('nacked', `the broker refused the message (${target})`, {
        cause: error,
      });
    }
    return new RabbitmqPublishError(
      'channelClosed',
      `the channel closed before the broker confirmed the message (${target}): ${describeError(error)}`,
      { cause: error },
    );
  }
}
