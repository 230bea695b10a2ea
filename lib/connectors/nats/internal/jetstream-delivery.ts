import type { Msg, NatsConnection } from '@nats-io/transport-node';

/** Where a JetStream message comes from and how often it was delivered, from its ack subject. */
export interface JetStreamDeliveryInfo {
  readonly stream: string;
  readonly consumer: string;
  /** 1 on the first delivery, then one more per redelivery. */
  readonly deliveryCount: number;
  /** The message's sequence number in the stream: stable across redeliveries. */
  readonly streamSequence: number;
  /** When the message was stored, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** Messages of the consumer that were not delivered yet when this one was. */
  readonly pending: number;
}

const encoder = new TextEncoder();
const ackBody = encoder.encode('+ACK');
const nakBody = encoder.encode('-NAK');
// Servers before 2.11 take `+TERM` only with nothing after it: a reason would make it a no-op.
const termBody = encoder.encode('+TERM');
const progressBody = encoder.encode('+WPI');

/**
 * Reads the delivery info JetStream encodes in a message's reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<streamSeq>.<consumerSeq>.<nanos>.<pending>`, or the
 * longer form with a domain and an account hash in front of the stream. `undefined` when the
 * subject is not a JetStream ack subject.
 *
 * @example
 * ```ts
 * parseDeliveryInfo('$JS.ACK.ORDERS.workers.2.41.57.1700000000000000000.3')?.deliveryCount; // 2
 * ```
 */
export function parseDeliveryInfo(reply: string | undefined): JetStreamDeliveryInfo | undefined {
  if (reply === undefined) return undefined;
  const tokens = reply.split('.');
  if (tokens.length === 9) tokens.splice(2, 0, '_', '');
  if (tokens.length < 11 || tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const [, , , , stream = '', consumer = '', delivered, sequence, , nanos = '', pending] = tokens;
  const deliveryCount = Number(delivered);
  const streamSequence = Number(sequence);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSequence)) {
    return undefined;
  }
  return {
    stream,
    consumer,
    deliveryCount,
    streamSequence,
    timestamp: /^\d+$/.test(nanos) ? Number(BigInt(nanos) / 1_000_000n) : 0,
    pending: Number(pending) || 0,
  };
}

/**
 * One delivered JetStream message and the ways to settle it. Every settlement is a publish to
 * the message's ack subject on whatever connection is current: the subject is valid from any
 * connection, so a delivery fetched before a reconnect can still be settled after it (as long
 * as its lease has not run out; after that the server has redelivered it anyway).
 */
export class JetStreamDelivery {
  /** The ack subject. */
  readonly reply: string;
  /** When the lease was last started (delivery or renewal), in milliseconds since the epoch. */
  leasedAt = Date.now();

  constructor(
    readonly message: Msg,
    readonly info: JetStreamDeliveryInfo,
  ) {
    this.reply = message.reply as string;
  }

  /** Done: the stream forgets it (work-queue retention) and it is never redelivered. */
  ack(connection: NatsConnection): void {
    connection.publish(this.reply, ackBody);
  }

  /** Acks and waits until the server confirms it ("double ack"). */
  async ackConfirmed(connection: NatsConnection, timeout: number): Promise<void> {
    await connection.request(this.reply, ackBody, { timeout });
  }

  /** Redeliver, after `delay` milliseconds when `delay > 0`. */
  nak(connection: NatsConnection, delay: number): void {
    const body =
      delay > 0 ? encoder.encode(`-NAK {"delay":${Math.round(delay * 1_000_000)}}`) : nakBody;
    connection.publish(this.reply, body);
  }

  /** Never redeliver. */
  term(connection: NatsConnection): void {
    connection.publish(this.reply, termBody);
  }

  /**
   * Whether the lease may have run out by now, `ackWait` after delivery or the last renewal
   * (with a tenth of it to spare for the trip from the server): JetStream then redelivers
   * the message, perhaps to another worker already, and a `-NAK`, `+TERM` or `+WPI` from
   * here would act on that other worker's copy. A lease renewed every `ackWait / 3` never
   * gets there unless the event loop stalled.
   */
  lapsed(ackWait: number, now = Date.now()): boolean {
    return now - this.leasedAt >= ackWait * 0.9;
  }

  /** Still working on it: the lease (`ack_wait`) starts over. */
  renew(connection: NatsConnection): void {
    connection.publish(this.reply, progressBody);
    this.leasedAt = Date.now();
  }
}
