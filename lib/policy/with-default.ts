import * as t from 'io-ts';

/**
 * A codec that decodes `undefined` (a missing key) to `value` and everything else with
 * `codec`. It keeps `codec`'s name, so errors show the readable type, not a wrapper.
 */
export function withDefault<A>(codec: t.Type<A, A, unknown>, value: A): t.Type<A, A, unknown> {
  return new t.Type<A, A, unknown>(
    codec.name,
    codec.is,
    (u, c) => (u === undefined ? t.success(value) : codec.validate(u, c)),
    t.identity,
  );
}
