import { createHash } from 'node:crypto';
import type { RabbitmqTopology } from './rabbitmq-topology.js';

/** Longest queue name RabbitMQ takes, in bytes. */
const longestQueueName = 255;

/**
 * A delay as its delay queue holds it: rounded up to two significant digits (1234 ms → 1300,
 * 600 000 → 600 000), so every delay shares a queue with few others and a message never
 * comes back before the delay it asked for (at most 10 % later).
 *
 * @example
 * ```ts
 * delayBucket(1234); // 1300
 * ```
 */
export function delayBucket(delay: number): number {
  const ms = Math.max(1, Math.ceil(delay));
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / unit) * unit;
}

/**
 * The delay queue for messages bound for `exchange` with `routingKey`, held `delay` ms
 * (bucketed by {@link delayBucket}): `<routingKey>.delay.<ms>` for the default exchange (a
 * queue name), `<exchange>.<routingKey>.delay.<ms>` otherwise, hashed when too long.
 *
 * @example
 * ```ts
 * delayQueueName('', 'orders', 600_000); // 'orders.delay.600000'
 * ```
 */
export function delayQueueName(exchange: string, routingKey: string, delay: number): string {
  const target = exchange === '' ? routingKey : `${exchange}.${routingKey}`;
  const name = `${target}.delay.${delayBucket(delay)}`;
  if (Buffer.byteLength(name) <= longestQueueName) return name;
  const digest = createHash('sha1').update(target).digest('hex').slice(0, 16);
  return `ergon.${digest}.delay.${delayBucket(delay)}`;
}

/**
 * The topology of one delay queue: a durable classic queue whose messages all live
 * `x-message-ttl` ms and are then dead-lettered to `exchange` with `routingKey` (back where
 * they were bound). One TTL per queue, so messages expire in the order they came. The queue
 * is deleted by the broker once unused for the delay plus a day (`x-expires`: it is declared
 * again before each use).
 */
export function delayQueueTopology(
  exchange: string,
  routingKey: string,
  delay: number,
): { readonly name: string; readonly topology: RabbitmqTopology } {
  const ttl = delayBucket(delay);
  const name = delayQueueName(exchange, routingKey, delay);
  return {
    name,
    topology: {
      exchanges: [],
      queues: [
        {
          name,
          arguments: {
            'x-queue-type': 'classic',
            'x-message-ttl': ttl,
            'x-dead-letter-exchange': exchange,
            'x-dead-letter-routing-key': routingKey,
            'x-expires': ttl + 86_400_000,
          },
        },
      ],
      bindings: [],
      passive: false,
    },
  };
}
