import * as t from 'io-ts';

const nullWords = new Set(['', 'none', 'null']);

/**
 * Whether `u` means "no value": `null`, or one of the strings `""`, `"none"`, `"null"`
 * (trimmed, case-insensitive), as an environment variable would spell it.
 */
export function isNullMarker(u: unknown): boolean {
  return u === null || (typeof u === 'string' && nullWords.has(u.trim().toLowerCase()));
}

/** A codec that decodes a null marker (see {@link isNullMarker}) to `null`, else uses `codec`. */
export function orNull<A>(codec: t.Type<A, A, unknown>): t.Type<A | null, A | null, unknown> {
  return new t.Type<A | null, A | null, unknown>(
    `${codec.name} or null`,
    (u): u is A | null => u === null || codec.is(u),
    (u, c) => (isNullMarker(u) ? t.success(null) : codec.validate(u, c)),
    t.identity,
  );
}
