import * as t from 'io-ts';
import { isPlainObject } from '../../policy/plain-object.js';

/** The member codecs of a {@link taggedUnion}, by the value of their `type` key. */
export type UnionMembers = Readonly<Record<string, t.Mixed>>;

/** An object that is accepted as it is, in place of a configuration (an exporter instance, …). */
export interface InstanceGuard<I> {
  readonly name: string;
  is(u: unknown): u is I;
}

/**
 * A codec for a configuration item chosen by its `type` key: `{ type: 'otlp', endpoint }`,
 * or just the string `'otlp'` when every other key has a default. The tag is trimmed and
 * case-insensitive. An unknown tag is reported once at `<path>.type`, with the known tags,
 * instead of one error per member as an io-ts union gives. With `instance`, an object passing
 * its guard (a ready-made exporter, say) is accepted unchanged.
 *
 * @example
 * ```ts
 * const Exporter = taggedUnion('span exporter', {
 *   console: strictStruct('console', { type: tagCodec('console') }),
 *   otlp: strictStruct('otlp', { type: tagCodec('otlp'), endpoint: withDefault(orNull(t.string), null) }),
 * });
 * Exporter.decode('otlp'); // right({ type: 'otlp', endpoint: null })
 * ```
 */
export function taggedUnion<M extends UnionMembers, I = never>(
  name: string,
  members: M,
  instance?: InstanceGuard<I>,
): t.Type<t.TypeOf<M[keyof M]> | I, t.TypeOf<M[keyof M]> | I, unknown> {
  type Decoded = t.TypeOf<M[keyof M]> | I;
  const tags = Object.keys(members);
  const expectedTag = `one of ${tags.map((tag) => `"${tag}"`).join(' | ')}`;
  const expectedItem = `${instance === undefined ? '' : `${instance.name}, or `}{ type: ${tags.join(' | ')}, … } or one of those names`;
  const memberFor = (tag: unknown): [string, t.Mixed] | undefined => {
    if (typeof tag !== 'string') return undefined;
    const wanted = tag.trim().toLowerCase();
    const key = tags.find((candidate) => candidate.toLowerCase() === wanted);
    return key === undefined ? undefined : [key, members[key] as t.Mixed];
  };
  return new t.Type<Decoded, Decoded, unknown>(
    name,
    (u): u is Decoded =>
      instance?.is(u) === true || tags.some((tag) => members[tag]?.is(u) === true),
    (u, c) => {
      if (instance?.is(u) === true) return t.success(u);
      const item = typeof u === 'string' ? { type: u } : u;
      if (!isPlainObject(item)) return t.failure(u, c, expectedItem);
      const member = memberFor(item['type']);
      if (member === undefined) {
        const tag = item['type'];
        return t.failure(tag, t.appendContext(c, 'type', t.never, tag), expectedTag);
      }
      const [key, codec] = member;
      return codec.validate({ ...item, type: key }, c) as t.Validation<Decoded>;
    },
    t.identity,
  );
}

/**
 * The codec of a member's `type` key: exactly `tag` (the union has already normalised it).
 *
 * @example
 * ```ts
 * strictStruct('console', { type: tagCodec('console') });
 * ```
 */
export function tagCodec<T extends string>(tag: T): t.Type<T, T, unknown> {
  return t.literal(tag);
}
