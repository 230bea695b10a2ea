import type { ConsumeMessage } from 'amqplib';
import { markUndecodable, type Transaction } from '../../core/transaction.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { traceMetadata } from '../../core/trace-headers.js';
import { messageIdentity } from './message-identity.js';
import { plainHeaders } from './plain-headers.js';
import type { QueueSubscription } from './queue-subscription.js';

/** Where a fetched message came from: what settling it needs. */
export interface Delivery {
  readonly subscription: QueueSubscription;
  readonly message: ConsumeMessage;
  /** Deliveries so far, this one included (see `deliveryCount`). */
  readonly deliveries: number;
}

const optionalProperties = [
  'messageId',
  'correlationId',
  'contentType',
  'type',
  'appId',
  'replyTo',
  'timestamp',
] as const;

const noHeaders: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A frozen transaction made from a delivered message, carrying its {@link Delivery} in a
 * private field: invisible to `Object.keys`, JSON and deep equality, so no broker handle
 * (delivery tag, channel) ever reaches the public metadata, and cheaper than a `WeakMap`
 * lookup per settlement.
 */
export class DeliveredTransaction<P> implements Transaction<P> {
  readonly id: string;
  readonly payload: P;
  readonly metadata: Readonly<Record<string, unknown>>;
  #delivery: Delivery | null;

  private constructor(
    id: string,
    payload: P,
    metadata: Readonly<Record<string, unknown>>,
    delivery: Delivery,
  ) {
    this.id = id;
    this.payload = payload;
    this.metadata = metadata;
    this.#delivery = delivery;
    Object.freeze(this);
  }

  /**
   * The transaction for a delivered message. Its id is {@link messageIdentity}; its metadata
   * is serialisable routing information (`queue`, `exchange`, `routingKey`, `redelivered`,
   * `deliveryCount`, the message properties that are set, `headers`) plus `traceparent` and
   * `tracestate` from the headers. A body the codec cannot decode gives a transaction whose
   * payload is the raw body (a `Buffer`), marked undecodable so the engine routes it to the
   * exception handler.
   *
   * @example
   * ```ts
   * const tx = DeliveredTransaction.from({ subscription, message, deliveries: 1 }, jsonCodec);
   * tx.metadata.routingKey; // 'orders'
   * ```
   */
  static from<P>(delivery: Delivery, codec: PayloadCodec<P>): DeliveredTransaction<P> {
    const { message } = delivery;
    const { fields, properties } = message;
    const metadata: Record<string, unknown> = {
      queue: delivery.subscription.queue,
      exchange: fields.exchange,
      routingKey: fields.routingKey,
      redelivered: fields.redelivered,
      deliveryCount: delivery.deliveries,
    };
    for (const key of optionalProperties) {
      const value: unknown = properties[key];
      if (value !== undefined && value !== null) metadata[key] = value;
    }
    const headers: Readonly<Record<string, unknown>> | undefined = properties.headers;
    if (headers === undefined || Object.keys(headers).length === 0) {
      metadata['headers'] = noHeaders;
    } else {
      metadata['headers'] = Object.freeze(plainHeaders(headers));
      Object.assign(metadata, traceMetadata(headers));
    }
    Object.freeze(metadata);
    const id = messageIdentity(message);
    let payload: P;
    try {
      payload = codec.decode(message.content);
    } catch (error) {
      const raw = new DeliveredTransaction(id, message.content as unknown as P, metadata, delivery);
      markUndecodable(raw, error);
      return raw;
    }
    return new DeliveredTransaction(id, payload, metadata, delivery);
  }

  /**
   * Takes the delivery of a transaction to settle it: `undefined` when `transaction` was not
   * delivered by a RabbitMQ connector, or was claimed (settled) already.
   *
   * @example
   * ```ts
   * const delivery = DeliveredTransaction.claim(transaction);
   * if (delivery === undefined) throw new SettlementError('settled twice');
   * delivery.subscription.ack(delivery.message);
   * ```
   */
  static claim<P>(transaction: Transaction<P>): Delivery | undefined {
    if (!(transaction instanceof DeliveredTransaction)) return undefined;
    const delivery = (transaction as DeliveredTransaction<P>).#delivery;
    (transaction as DeliveredTransaction<P>).#delivery = null;
    return delivery ?? undefined;
  }
}
