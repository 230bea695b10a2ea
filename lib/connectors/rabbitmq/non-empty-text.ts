import * as t from 'io-ts';

/**
 * A codec of a string with at least one character (a name: queue, exchange, connection).
 *
 * @example
 * ```ts
 * strictStruct('Exchange', { name: NonEmptyText }).decode({ name: '' }); // Left: name
 * ```
 */
export const NonEmptyText = new t.Type<string, string, unknown>(
  'non-empty string',
  (u): u is string => typeof u === 'string' && u !== '',
  (u, c) => (typeof u === 'string' && u !== '' ? t.success(u) : t.failure(u, c)),
  t.identity,
);
