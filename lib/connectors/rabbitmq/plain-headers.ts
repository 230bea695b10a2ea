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
export function plainHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
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
