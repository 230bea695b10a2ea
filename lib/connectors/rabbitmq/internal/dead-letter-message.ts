import type { ConsumeMessage, Options } from 'amqplib';
import { describeError } from '../../../core/renderers.js';
import { TransactionError } from '../../../core/errors.js';

const copiedProperties = [
  'messageId',
  'correlationId',
  'contentType',
  'contentEncoding',
  'type',
  'appId',
  'timestamp',
  'priority',
] as const;

/** Longest error text kept in a dead-lettered message's headers. */
const longestErrorText = 4096;

/**
 * The publish options of the copy of `message` that goes to the dead-letter exchange: its
 * properties (message id, correlation id, content type, …), persistent, and its headers plus
 * why and where it failed:
 *
 * | header | value |
 * |---|---|
 * | `x-ergon-error` | the error, `Type: message` (at most 4096 characters) |
 * | `x-ergon-error-category` | `business`, `system` or `timeout` (a `TransactionError`'s category) |
 * | `x-ergon-error-stage` | the lifecycle stage that failed, when known |
 * | `x-ergon-queue` | the queue it was consumed from |
 * | `x-ergon-exchange`, `x-ergon-routing-key` | where it was originally published |
 * | `x-ergon-delivery-count` | deliveries so far |
 * | `x-ergon-dead-lettered-at` | ISO 8601 time |
 *
 * The broker's own `x-delivery-count` is dropped: it belongs to the original queue.
 *
 * @example
 * ```ts
 * await service.publish('orders.dlx', 'orders', message.content, deadLetterOptions(message, 'orders', error, 3));
 * ```
 */
export function deadLetterOptions(
  message: ConsumeMessage,
  queue: string,
  error: unknown,
  deliveries: number,
): Options.Publish {
  const { properties, fields } = message;
  const headers: Record<string, unknown> = { ...properties.headers };
  delete headers['x-delivery-count'];
  const text = describeError(error);
  headers['x-ergon-error'] =
    text.length > longestErrorText ? `${text.slice(0, longestErrorText - 1)}…` : text;
  if (error instanceof TransactionError) {
    headers['x-ergon-error-category'] = error.category;
    if (error.stage !== undefined) headers['x-ergon-error-stage'] = error.stage;
  }
  headers['x-ergon-queue'] = queue;
  headers['x-ergon-exchange'] = fields.exchange;
  headers['x-ergon-routing-key'] = fields.routingKey;
  headers['x-ergon-delivery-count'] = deliveries;
  headers['x-ergon-dead-lettered-at'] = new Date().toISOString();
  return copyOptions(message, headers);
}

/**
 * The publish options of a copy of `message` with `headers`: persistent, with its properties
 * (message id, correlation id, content type, timestamp, priority, …).
 */
export function copyOptions(
  message: Pick<ConsumeMessage, 'properties'>,
  headers: Record<string, unknown>,
): Options.Publish {
  const options: Record<string, unknown> = { headers, persistent: true };
  for (const key of copiedProperties) {
    const value: unknown = message.properties[key];
    if (value !== undefined && value !== null) options[key] = value;
  }
  return options;
}
