import { createHash } from 'node:crypto';
import type { ConsumeMessage, Message } from 'amqplib';
import { markUndecodable, type Transaction } from '../../../core/transaction.js';
import type { PayloadCodec } from '../../../core/payload-codec.js';
import { traceMetadata } from '../../../core/trace-headers.js';
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
 * The AMQP header that carries a transaction's `metadata.key` (its ordering key, see
 * `transactionKey`). Reserved: `fetch` turns it into `metadata.key` and leaves it out of
 * `metadata.headers`; a header of any other name (`key` included) is the user's.
 */
export const keyHeader = 'x-ergon-key';

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
   * `tracestate` from the headers, and `key` from the {@link keyHeader} header (a non-empty
   * string; that header is not repeated in `headers`). A body the codec cannot decode gives a transaction whose
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
      const { [keyHeader]: key, ...others } = headers;
      metadata['headers'] =
        Object.keys(others).length === 0 ? noHeaders : Object.freeze(plainHeaders(others));
      Object.assign(metadata, traceMetadata(others));
      const text = plainValue(key);
      if (typeof text === 'string' && text !== '') metadata['key'] = text;
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

/**
 * How many times the broker has delivered `message`, this delivery included. Quorum queues
 * count natively: the `x-delivery-count` header holds the earlier failed deliveries (requeues,
 * and deliveries whose channel closed unacknowledged). Classic queues only say whether a
 * message was delivered before (`redelivered`), so the count is then a lower bound: 1 or 2.
 * A message that came back from a delay queue adds the deliveries it had before
 * (`x-ergon-earlier-deliveries`).
 *
 * @example
 * ```ts
 * deliveryCount(message); // 3 for a quorum-queue message with 'x-delivery-count': 2
 * ```
 */
export function deliveryCount(message: Message): number {
  const headers = message.properties.headers;
  const earlierValue: unknown = headers?.[earlierDeliveriesHeader];
  const earlier =
    typeof earlierValue === 'number' && Number.isSafeInteger(earlierValue) && earlierValue > 0
      ? earlierValue
      : 0;
  const counted: unknown = headers?.['x-delivery-count'];
  if (typeof counted === 'number' && Number.isSafeInteger(counted) && counted >= 0) {
    return earlier + counted + 1;
  }
  return earlier + (message.fields.redelivered ? 2 : 1);
}

/**
 * The header of a message held back in a delay queue (a retry-later): its deliveries before
 * that, which {@link deliveryCount} adds to the broker's count of the copy.
 */
export const earlierDeliveriesHeader = 'x-ergon-earlier-deliveries';

/**
 * The transaction id of a delivered message: its `message-id` property (`dispatch` always
 * sets it to the transaction id). A message published without one gets an id derived from
 * what the broker keeps unchanged across redeliveries (body, `timestamp`, `correlation-id`
 * and `app-id`), so every delivery of it has the same id: `sha256-` and 32 hex digits.
 * Byte-identical messages without a message id share that id.
 *
 * @example
 * ```ts
 * messageIdentity(message); // 'order-42', or 'sha256-3f1c…' without a message-id
 * ```
 */
export function messageIdentity(message: Message): string {
  const messageId: unknown = message.properties.messageId;
  if (typeof messageId === 'string' && messageId !== '') return messageId;
  const timestamp: unknown = message.properties.timestamp;
  const correlationId: unknown = message.properties.correlationId;
  const appId: unknown = message.properties.appId;
  const digest = createHash('sha256')
    .update(JSON.stringify([timestamp ?? null, correlationId ?? null, appId ?? null]))
    .update(message.content)
    .digest('hex');
  return `sha256-${digest.slice(0, 32)}`;
}

/**
 * A copy of AMQP message headers that holds only serialisable values: byte arrays become UTF-8
 * text, nested tables and arrays (such as `x-death`) are copied the same way, and the typed
 * values amqplib decodes (`{ '!': 'timestamp', value }`) are kept as they are.
 *
 * @example
 * ```ts
 * plainHeaders({ tenant: Buffer.from('acme') }); // { tenant: 'acme' }
 * ```
 */
function plainHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) copy[key] = plainValue(value);
  return copy;
}

function plainValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(plainValue);
  if (typeof value === 'object' && value !== null) {
    return plainHeaders(value as Readonly<Record<string, unknown>>);
  }
  return value;
}
