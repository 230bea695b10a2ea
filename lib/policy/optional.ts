import * as t from 'io-ts';

/**
 * A codec of an optional key: `undefined` (a missing key) stays `undefined`, everything else
 * is decoded with `codec`. Unlike `t.union([codec, t.undefined])` a wrong value gives only
 * `codec`'s own issues, at their exact paths, with no extra issue for the key itself.
 */
export function optional<A>(
  codec: t.Type<A, A, unknown>,
): t.Type<A | undefined, A | undefined, unknown> {
  return new t.Type<A | undefined, A | undefined, unknown>(
    codec.name,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (u, c) => (u === undefined ? t.success(undefined) : codec.validate(u, c)),
    t.identity,
  );
}
