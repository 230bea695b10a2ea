import * as t from 'io-ts';

/**
 * A codec for one policy value that may arrive in a looser form (a string from an environment
 * variable, say). `coerce` returns the decoded value, or `undefined` when the input is not
 * acceptable; `name` is the readable type shown in errors (`positive integer`, …).
 */
export function scalarCodec<A>(
  name: string,
  is: (u: unknown) => u is A,
  coerce: (u: unknown) => A | undefined,
): t.Type<A, A, unknown> {
  return new t.Type<A, A, unknown>(
    name,
    is,
    (u, c) => {
      const value = coerce(u);
      return value === undefined ? t.failure(u, c) : t.success(value);
    },
    t.identity,
  );
}
