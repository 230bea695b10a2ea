import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { PolicyError } from '../../core/errors.js';
import { toPolicyIssues } from '../policy-issues.js';
import { isNullMarker, matchKeyword } from './values.js';

/**
 * Whether `u` is an object literal (or `Object.create(null)`), not an array, class instance or
 * `null`. Never throws (a revoked Proxy is not a plain object).
 */
export function isPlainObject(u: unknown): u is Readonly<Record<string, unknown>> {
  if (typeof u !== 'object' || u === null) return false;
  let prototype: unknown;
  try {
    prototype = Object.getPrototypeOf(u);
  } catch {
    return false;
  }
  return prototype === Object.prototype || prototype === null;
}

/**
 * Decodes `input` with `codec`, filling defaults.
 *
 * @throws PolicyError naming `subject` and listing every wrong path.
 */
export function decodePolicy<A>(codec: t.Type<A, A>, subject: string, input: unknown): A {
  const result = codec.decode(input);
  if (isLeft(result)) throw new PolicyError(subject, toPolicyIssues(result.left));
  return result.right;
}

/**
 * A codec that accepts exactly the values `is` accepts, unchanged, and names them `name` in
 * errors: `t.refinement(t.unknown, is, name)`, typed with `A` as its output too (encoding is
 * the identity, so the output is the decoded value).
 *
 * @example
 * ```ts
 * const FunctionCodec = guardCodec('function', (u): u is () => void => typeof u === 'function');
 * ```
 */
export function guardCodec<A>(name: string, is: (u: unknown) => u is A): t.Type<A, A> {
  return t.refinement(t.unknown, is, name) as t.Type<A, unknown> as t.Type<A, A>;
}

/**
 * A codec that decodes `undefined` (a missing key) to `value` and everything else with
 * `codec`. It keeps `codec`'s name, so errors show the readable type, not a wrapper.
 * Hand-written: io-ts has no combinator that fills a default.
 */
export function withDefault<A>(codec: t.Type<A, A>, value: A): t.Type<A, A> {
  return new t.Type<A, A, unknown>(
    codec.name,
    codec.is,
    (u, c) => (u === undefined ? t.success(value) : codec.validate(u, c)),
    t.identity,
  );
}

/**
 * A codec of an optional key: `undefined` (a missing key) stays `undefined`, everything else
 * is decoded with `codec`. Hand-written because `t.union([codec, t.undefined])` reports a
 * wrong value with an extra issue for the `undefined` branch; here only `codec`'s own issues
 * appear, at their exact paths.
 */
export function optional<A>(codec: t.Type<A, A>): t.Type<A | undefined, A | undefined> {
  return new t.Type<A | undefined, A | undefined, unknown>(
    codec.name,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (u, c) => (u === undefined ? t.success(undefined) : codec.validate(u, c)),
    t.identity,
  );
}

/**
 * A codec that decodes a null marker (see {@link isNullMarker}) to `null`, else uses `codec`.
 * Hand-written because it turns `"none"` and `""` into `null`, which `t.union([codec, t.null])`
 * does not.
 */
export function orNull<A>(codec: t.Type<A, A>): t.Type<A | null, A | null> {
  return new t.Type<A | null, A | null, unknown>(
    `${codec.name} or null`,
    (u): u is A | null => u === null || codec.is(u),
    (u, c) => (isNullMarker(u) ? t.success(null) : codec.validate(u, c)),
    t.identity,
  );
}

/**
 * `codec`, reporting a rejected value as `conceal` shows it: a URL with its password masked,
 * headers without their tokens. Hand-written because an io-ts combinator always reports the
 * value as given, and a configuration error must not print a secret.
 *
 * @example
 * ```ts
 * const Url = concealFailures(t.refinement(t.unknown, isAmqpUrl, 'amqp:// URL'), maskCredentials);
 * ```
 */
export function concealFailures<A>(
  codec: t.Type<A, A>,
  conceal: (u: unknown) => unknown,
): t.Type<A, A> {
  return new t.Type<A, A, unknown>(
    codec.name,
    codec.is,
    (u, c) => {
      const result = codec.validate(u, c);
      if (!isLeft(result)) return result;
      return t.failures(result.left.map((error) => ({ ...error, value: conceal(error.value) })));
    },
    t.identity,
  );
}

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
): t.Type<StructOf<P>, StructOf<P>> {
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

/**
 * The optimal-string-alignment distance between `a` and `b`: how many insertions, deletions,
 * substitutions and swaps of adjacent characters turn one into the other.
 *
 * @example
 * ```ts
 * editDistance('concurency', 'concurrency'); // 1
 * editDistance('stremaing', 'streaming'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + substitution,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, (beforePrevious[j - 2] ?? 0) + 1);
      }
      current.push(distance);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `word` (ignoring case), if it is close enough to be a likely typo:
 * at most one edit for short words, one edit per three characters for longer ones.
 *
 * @example
 * ```ts
 * closestCandidate('max_attempts', ['maxAttempts', 'timeout']); // 'maxAttempts'
 * closestCandidate('colour', ['maxAttempts', 'timeout']); // undefined
 * ```
 */
export function closestCandidate(word: string, candidates: readonly string[]): string | undefined {
  const lowerWord = word.toLowerCase();
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lowerWord, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

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
 * case-insensitive (see `matchKeyword`); each member sees it normalised, so its `type` key
 * is a plain `t.literal`. An unknown tag is reported once at `<path>.type`, with the known
 * tags, instead of one error per member as `t.union` gives, which is why this is
 * hand-written. With `instance`, an object passing its guard (a ready-made exporter, say) is
 * accepted unchanged.
 *
 * @example
 * ```ts
 * const Exporter = taggedUnion('span exporter', {
 *   console: strictStruct('console', { type: t.literal('console') }),
 *   otlp: strictStruct('otlp', { type: t.literal('otlp'), endpoint: withDefault(orNull(t.string), null) }),
 * });
 * Exporter.decode('otlp'); // right({ type: 'otlp', endpoint: null })
 * ```
 */
export function taggedUnion<M extends UnionMembers, I = never>(
  name: string,
  members: M,
  instance?: InstanceGuard<I>,
): t.Type<t.TypeOf<M[keyof M]> | I, t.TypeOf<M[keyof M]> | I> {
  type Decoded = t.TypeOf<M[keyof M]> | I;
  const tags = Object.keys(members);
  const expectedTag = `one of ${tags.map((tag) => `"${tag}"`).join(' | ')}`;
  const expectedItem = `${instance === undefined ? '' : `${instance.name}, or `}{ type: ${tags.join(' | ')}, … } or one of those names`;
  return new t.Type<Decoded, Decoded, unknown>(
    name,
    (u): u is Decoded =>
      instance?.is(u) === true || tags.some((tag) => members[tag]?.is(u) === true),
    (u, c) => {
      if (instance?.is(u) === true) return t.success(u);
      const item = typeof u === 'string' ? { type: u } : u;
      if (!isPlainObject(item)) return t.failure(u, c, expectedItem);
      const tag = item['type'];
      const key = matchKeyword(tag, tags);
      if (key === undefined) {
        return t.failure(tag, t.appendContext(c, 'type', t.never, tag), expectedTag);
      }
      const codec = members[key] as t.Mixed;
      return codec.validate({ ...item, type: key }, c) as t.Validation<Decoded>;
    },
    t.identity,
  );
}

/**
 * A guard for ready-made objects given in place of a configuration item (an exporter, a
 * reader, a log sink): an object with these methods and no own `type` key (which would make
 * it a declarative item).
 *
 * @example
 * ```ts
 * const isSpanExporter = hasMethods<SpanExporter>('export', 'shutdown');
 * isSpanExporter(new InMemorySpanExporter()); // true
 * isSpanExporter({ type: 'otlp' }); // false
 * ```
 */
export function hasMethods<I>(...names: readonly (keyof I & string)[]): (u: unknown) => u is I {
  return (u: unknown): u is I =>
    typeof u === 'object' &&
    u !== null &&
    !Object.hasOwn(u, 'type') &&
    names.every((name) => typeof (u as Record<string, unknown>)[name] === 'function');
}
