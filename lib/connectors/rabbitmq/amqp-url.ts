import type * as t from 'io-ts';
import { maskCredentials } from '../../core/mask-credentials.js';
import { concealFailures, guardCodec } from '../../policy/codecs/structures.js';

const protocols: ReadonlySet<string> = new Set(['amqp:', 'amqps:']);

/**
 * `url` with its password replaced by `***`, for logs and error messages: `maskCredentials`,
 * which also masks a URL that does not parse (a password with an unescaped `/` or `#`).
 *
 * @example
 * ```ts
 * redactAmqpUrl('amqp://app:s3cret@rabbit:5672/orders'); // 'amqp://app:***@rabbit:5672/orders'
 * ```
 */
export const redactAmqpUrl: (url: string) => string = maskCredentials;

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
export const AmqpUrl: t.Type<string, string> = concealFailures(
  guardCodec('amqp:// or amqps:// URL', isAmqpUrl),
  (u) => (typeof u === 'string' ? redactAmqpUrl(u) : u),
);
