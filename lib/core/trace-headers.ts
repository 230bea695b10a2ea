import { context, propagation, type Context } from '@opentelemetry/api';
import type { Transaction } from './transaction.js';

/** The metadata keys that carry a transaction's W3C trace context between tasks. */
export const traceMetadataKeys = ['traceparent', 'tracestate'] as const;

const creationContexts = new WeakMap<Transaction, Context>();

/**
 * Remembers the context a transaction was created in (its producer's span), so that
 * {@link traceHeaders} sends that context rather than whatever is active when a batch of many
 * transactions is dispatched. The engine calls it; connectors never need to.
 */
export function rememberCreationContext(transaction: Transaction, created: Context): void {
  creationContexts.set(transaction, created);
}

/**
 * The W3C trace headers to send with an outbound transaction: the context it was created in
 * (when the engine produced it), else the context active where it is dispatched, else the
 * `traceparent`/`tracestate` the transaction already carries in its metadata. Empty when
 * there is none.
 *
 * @example
 * ```ts
 * channel.publish(exchange, key, body, { headers: { ...traceHeaders(transaction) } });
 * ```
 */
export function traceHeaders(transaction: Transaction): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const key of traceMetadataKeys) {
    const value = transaction.metadata[key];
    if (typeof value === 'string') headers[key] = value;
  }
  propagation.inject(creationContexts.get(transaction) ?? context.active(), headers);
  return headers;
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

/**
 * The trace metadata to put on a fetched transaction, read from the message's headers (any
 * case; values may be strings or bytes, as drivers hand them over).
 *
 * @example
 * ```ts
 * createTransaction(payload, { id, metadata: { ...traceMetadata(message.properties.headers ?? {}) } });
 * ```
 */
export function traceMetadata(headers: Readonly<Record<string, unknown>>): Record<string, string> {
  const metadata: Record<string, string> = {};
  const lowerCased: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) lowerCased[key.toLowerCase()] = value;
  for (const key of traceMetadataKeys) {
    const value = headerText(lowerCased[key]);
    if (value !== undefined) metadata[key] = value;
  }
  return metadata;
}
