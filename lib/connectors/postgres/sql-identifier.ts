import { scalarCodec } from '../../policy/codecs/values.js';

/** PostgreSQL keeps the first 63 bytes of a name (NAMEDATALEN − 1) and silently drops the rest. */
export const MAX_IDENTIFIER_BYTES = 63;

const identifierText = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Whether `name` is a plain SQL name the connector accepts for a schema or table: a letter
 * or `_`, then letters, digits or `_`, at most {@link MAX_IDENTIFIER_BYTES} bytes. Names are
 * always quoted in SQL, so they are case-sensitive (`Orders` and `orders` are two tables).
 */
export function isSqlIdentifier(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    identifierText.test(name) &&
    Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES
  );
}

/** Codec of a schema or table name (see {@link isSqlIdentifier}). */
export const SqlIdentifier = scalarCodec(
  `SQL identifier (letters, digits, _; at most ${MAX_IDENTIFIER_BYTES} bytes)`,
  isSqlIdentifier,
  (u) => (isSqlIdentifier(u) ? u : undefined),
);

/**
 * `name` as a quoted SQL identifier, safe to splice into a statement.
 *
 * @example
 * ```ts
 * quoteIdentifier('orders'); // '"orders"'
 * quoteIdentifier('odd"name'); // '"odd""name"'
 * ```
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
