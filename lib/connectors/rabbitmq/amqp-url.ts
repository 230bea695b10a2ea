import * as t from 'io-ts';

const protocols: ReadonlySet<string> = new Set(['amqp:', 'amqps:']);

/**
 * `url` with its password replaced by `***`, for logs and error messages. Text that is not a
 * URL comes back unchanged.
 *
 * @example
 * ```ts
 * redactAmqpUrl('amqp://app:s3cret@rabbit:5672/orders'); // 'amqp://app:***@rabbit:5672/orders'
 * ```
 */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function isAmqpUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    const parsed = new URL(u);
    return protocols.has(parsed.protocol) && parsed.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * An AMQP 0-9-1 broker address: `amqp://` or `amqps://`, a host, and optionally credentials,
 * a port, a vhost path and driver query parameters (`?frameMax=…`). A rejected value is
 * reported with its password masked.
 *
 * @example
 * ```ts
 * isRight(AmqpUrl.decode('amqps://app:secret@rabbit.internal:5671/shop')); // true
 * isRight(AmqpUrl.decode('http://rabbit')); // false
 * ```
 */
export const AmqpUrl = new t.Type<string, string, unknown>(
  'amqp:// or amqps:// URL',
  isAmqpUrl,
  (u, c) => {
    if (isAmqpUrl(u)) return t.success(u);
    return t.failure(typeof u === 'string' ? redactAmqpUrl(u) : u, c);
  },
  t.identity,
);
