import { createHash } from 'node:crypto';
import type { Message } from 'amqplib';

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
  const { timestamp, correlationId, appId } = message.properties;
  const digest = createHash('sha256')
    .update(JSON.stringify([timestamp ?? null, correlationId ?? null, appId ?? null]))
    .update(message.content)
    .digest('hex');
  return `sha256-${digest.slice(0, 32)}`;
}
