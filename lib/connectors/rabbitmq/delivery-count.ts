import type { Message } from 'amqplib';

/**
 * How many times the broker has delivered `message`, this delivery included. Quorum queues
 * count natively: the `x-delivery-count` header holds the earlier failed deliveries (requeues,
 * and deliveries whose channel closed unacknowledged). Classic queues only say whether a
 * message was delivered before (`redelivered`), so the count is then a lower bound: 1 or 2.
 *
 * @example
 * ```ts
 * deliveryCount(message); // 3 for a quorum-queue message with 'x-delivery-count': 2
 * ```
 */
export function deliveryCount(message: Message): number {
  const counted: unknown = message.properties.headers?.['x-delivery-count'];
  if (typeof counted === 'number' && Number.isSafeInteger(counted) && counted >= 0) {
    return counted + 1;
  }
  return message.fields.redelivered ? 2 : 1;
}
