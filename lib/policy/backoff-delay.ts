import type { Backoff } from './backoff.js';
import { MAX_TIMER_DELAY } from './max-timer-delay.js';

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
