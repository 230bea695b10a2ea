import type * as t from 'io-ts';
import { parseBoolean } from './boolean-flag.js';
import { decodePolicy } from './decode-policy.js';
import { type DurationInput, NonNegativeDuration } from './duration.js';
import { isNullMarker, orNull } from './or-null.js';
import { parseNumber } from './parse-number.js';
import { scalarCodec } from './scalar-codec.js';
import { strictStruct } from './strict-struct.js';
import { withDefault } from './with-default.js';

/** How random jitter spreads a backoff delay: `full` draws from [0, d], `equal` from [d/2, d]. */
export type Jitter = 'none' | 'full' | 'equal';

/** An exponential backoff: `min(backoffCap, backoff × backoffMultiplier^k)` before the k-th retry. */
export interface Backoff {
  /** Base delay in milliseconds (≥ 0). */
  readonly backoff: number;
  /** Growth factor per retry (≥ 1). */
  readonly backoffMultiplier: number;
  /** Largest delay in milliseconds, or `null` for no cap. */
  readonly backoffCap: number | null;
  /** Random spread of each delay; `none` keeps delays exact. */
  readonly jitter: Jitter;
}

/**
 * A jitter as a policy accepts it: `'none' | 'full' | 'equal'` (trimmed, case-insensitive),
 * a boolean (`true` → `'full'`, `false` → `'none'`) or a boolean word (`"on"`, `"0"`, …);
 * `null`, `""` and `"null"` mean `'none'`.
 */
export type JitterInput = Jitter | boolean | (string & Record<never, never>) | null;

/** A {@link Backoff} as a policy accepts it: every key optional, env-style strings allowed. */
export interface BackoffInput {
  /** Base delay (default 0). */
  readonly backoff?: DurationInput;
  /** Growth factor per retry, ≥ 1 (default 2). */
  readonly backoffMultiplier?: number | string;
  /** Largest delay, or `null` for no cap (default `null`). */
  readonly backoffCap?: DurationInput | null;
  /** Random spread of each delay (default `'none'`). */
  readonly jitter?: JitterInput;
}

const jitters: readonly string[] = ['none', 'full', 'equal'] satisfies readonly Jitter[];

const isJitter = (u: unknown): u is Jitter => typeof u === 'string' && jitters.includes(u);

const JitterCodec = scalarCodec<Jitter>('"none" | "full" | "equal" or boolean', isJitter, (u) => {
  if (isNullMarker(u)) return 'none';
  const word = typeof u === 'string' ? u.trim().toLowerCase() : u;
  if (isJitter(word)) return word;
  const flag = parseBoolean(u);
  return flag === undefined ? undefined : flag ? 'full' : 'none';
});

const isMultiplier = (n: unknown): n is number =>
  typeof n === 'number' && Number.isFinite(n) && n >= 1;

const Multiplier = scalarCodec('number ≥ 1', isMultiplier, (u) => {
  const n = parseNumber(u);
  return isMultiplier(n) ? n : undefined;
});

/** The codecs of the four {@link Backoff} keys, with the given defaults. */
export function backoffProps(defaults: Backoff) {
  return {
    backoff: withDefault(NonNegativeDuration, defaults.backoff),
    backoffMultiplier: withDefault(Multiplier, defaults.backoffMultiplier),
    backoffCap: withDefault(orNull(NonNegativeDuration), defaults.backoffCap),
    jitter: withDefault(JitterCodec, defaults.jitter),
  };
}

/** A codec for a {@link Backoff} whose missing keys take `defaults`. */
export function backoffCodec(defaults: Backoff): t.Type<Backoff, Backoff, unknown> {
  return strictStruct('Backoff', backoffProps(defaults));
}

/** Backoff defaults: no delay, multiplier 2, no cap, no jitter. */
export const defaultBackoff: Backoff = Object.freeze({
  backoff: 0,
  backoffMultiplier: 2,
  backoffCap: null,
  jitter: 'none',
});

/** The io-ts codec behind {@link backoffPolicy}: defaults from {@link defaultBackoff}. */
export const BackoffCodec: t.Type<Backoff, Backoff, unknown> = backoffCodec(defaultBackoff);

/**
 * Decodes a backoff, filling defaults (backoff 0, multiplier 2, cap `null`, jitter `'none'`).
 *
 * @example
 * ```ts
 * backoffPolicy({ backoff: '100ms', backoffCap: '5s' });
 * // { backoff: 100, backoffMultiplier: 2, backoffCap: 5000, jitter: 'none' }
 * ```
 * @throws PolicyError listing every wrong or unknown key.
 */
export function backoffPolicy(input?: BackoffInput): Backoff {
  return decodePolicy(BackoffCodec, 'backoff policy', input);
}
