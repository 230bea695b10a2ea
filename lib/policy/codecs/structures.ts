import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { closestCandidate } from './edit-distance.js';
import { isPlainObject } from './plain-object.js';

/** The codecs of a struct's keys. */
export type StructProps = Readonly<Record<string, t.Mixed>>;

/** The decoded shape of a struct with the given props. */
export type StructOf<P extends StructProps> = { readonly [K in keyof P]: t.TypeOf<P[K]> };

/**
 * A codec for a policy object whose keys are exactly `props`. Unlike io-ts `type`/`exact`,
 * it rejects unknown keys (with a "did you mean" hint for likely typos) instead of ignoring
 * or stripping them, and it reports every wrong key, not just the first. `undefined` and
 * `null` decode as `{}`, so every key takes its default (a YAML key with nothing under it
 * is `null`). The result holds the known keys only, in the order of `props`.
 *
 * Failures carry their readable expectation in `message` (`object`, `no such key …`).
 */
export function strictStruct<P extends StructProps>(
  name: string,
  props: P,
): t.Type<StructOf<P>, StructOf<P>, unknown> {
  const keys = Object.keys(props);
  const hasKey = (key: string): boolean => Object.hasOwn(props, key);
  return new t.Type<StructOf<P>, StructOf<P>, unknown>(
    name,
    (u): u is StructOf<P> =>
      isPlainObject(u) &&
      Object.keys(u).every(hasKey) &&
      keys.every((key) => props[key]?.is(u[key]) === true),
    (input, c) => {
      const u = input ?? {};
      if (!isPlainObject(u)) return t.failure(u, c, 'object');
      const errors: t.ValidationError[] = [];
      const decoded: Record<string, unknown> = {};
      for (const key of keys) {
        const codec = props[key] as t.Mixed;
        const value = Object.hasOwn(u, key) ? u[key] : undefined;
        const result = codec.validate(value, t.appendContext(c, key, codec, value));
        if (isLeft(result)) errors.push(...result.left);
        else decoded[key] = result.right;
      }
      for (const key of Object.keys(u)) {
        if (hasKey(key)) continue;
        const value = u[key];
        errors.push({
          value,
          context: t.appendContext(c, key, t.never, value),
          message: unknownKeyMessage(key, keys),
        });
      }
      return errors.length > 0 ? t.failures(errors) : t.success(decoded as StructOf<P>);
    },
    t.identity,
  );
}

function unknownKeyMessage(key: string, keys: readonly string[]): string {
  const suggestion = closestCandidate(key, keys);
  return suggestion === undefined
    ? `no such key (known keys: ${keys.join(', ')})`
    : `no such key (did you mean "${suggestion}"?)`;
}
