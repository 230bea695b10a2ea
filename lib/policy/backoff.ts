import type * as t from 'io-ts';
import { decodePolicy, orNull, strictStruct, withDefault } from './codecs/structures.js';
import {
  type DurationInput,
  isNullMarker,
  matchKeyword,
  MAX_TIMER_DELAY,
  NonNegativeDuration,
  parseBoolean,
  parseNumber,
  scalarCodec,
} from './codecs/values.js';

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

const jitters: readonly Jitter[] = ['none', 'full', 'equal'];

const isJitter = (u: unknown): u is Jitter => jitters.some((jitter) => jitter === u);

const JitterCodec = scalarCodec<Jitter>('"none" | "full" | "equal" or boolean', isJitter, (u) => {
  if (isNullMarker(u)) return 'none';
  const word = matchKeyword(u, jitters);
  if (word !== undefined) return word;
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
export function backoffCodec(defaults: Backoff): t.Type<Backoff, Backoff> {
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
export const BackoffCodec: t.Type<Backoff, Backoff> = backoffCodec(defaultBackoff);

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

/**
 * The delay in milliseconds before the k-th retry (k = 0 before the first retry):
 * `min(backoffCap, backoff × backoffMultiplier^k)`, exact at the cap, then spread by the jitter:
 * `full` → `random() × d`, `equal` → `d/2 + random() × d/2`.
 *
 * The result is never `NaN` and never above {@link MAX_TIMER_DELAY} (about 24.8 days, the
 * longest delay a JavaScript timer honours): an uncapped backoff that grows past it, or a cap
 * above it, is clamped to it. `backoff: 0` is always 0; `backoffCap: 0` is always 0 too (the
 * Python reference read a cap of 0 as "no cap"; here that is `null`). `equal` jitter is
 * clamped to `d` as well, since rounding can push `d/2 + random() × d/2` just past `d` for
 * subnormal delays.
 *
 * ```text
 * backoff 1, multiplier 2, cap 5:     k = 0 1 2 3 …  →  1 2 4 5 5 …
 * backoff 1, multiplier 2, cap null:  k = 20         →  1048576
 * backoff 1, multiplier 2, cap null:  k = 10_000     →  MAX_TIMER_DELAY
 * ```
 *
 * @example
 * ```ts
 * const retry = retryPolicy({ backoff: '1s', backoffCap: '5s' });
 * [0, 1, 2, 3].map((k) => backoffDelay(retry, k)); // [1000, 2000, 4000, 5000]
 * ```
 * @param backoff a decoded {@link Backoff} (a `RetryPolicy` is one).
 * @param k the 0-based retry index.
 * @param random source of jitter in [0, 1); `Math.random` unless a test injects one.
 * @throws RangeError when `k` is not a non-negative integer.
 */
export function backoffDelay(
  backoff: Backoff,
  k: number,
  random: () => number = Math.random,
): number {
  if (!Number.isSafeInteger(k) || k < 0) {
    throw new RangeError(`retry index must be a non-negative integer, got ${String(k)}`);
  }
  const delay = exponentialDelay(backoff, k);
  switch (backoff.jitter) {
    case 'none':
      return delay;
    case 'full':
      return random() * delay;
    case 'equal':
      return Math.min(delay, delay / 2 + (random() * delay) / 2);
  }
}

function exponentialDelay(backoff: Backoff, k: number): number {
  if (backoff.backoff === 0) return 0;
  const cap = Math.min(backoff.backoffCap ?? MAX_TIMER_DELAY, MAX_TIMER_DELAY);
  return Math.min(backoff.backoff * backoff.backoffMultiplier ** k, cap);
}
