import * as t from 'io-ts';
import { MAX_TIMER_DELAY } from './max-timer-delay.js';

/**
 * A duration as a policy accepts it: milliseconds as a number, or a string such as `"250"`,
 * `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"1h"` (trimmed, unit case-insensitive).
 */
export type DurationInput = number | string;

const durationText = /^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?$/i;
const millisecondsPer: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Reads a duration in milliseconds (see {@link DurationInput}). A number passes through
 * unchanged; a string with a unit is rounded to the microsecond so `"1.1s"` is exactly 1100.
 * Returns `undefined` unless the result is a non-negative finite number.
 *
 * @example
 * ```ts
 * parseDuration('1.5s'); // 1500
 * parseDuration(' 2M '); // 120000
 * parseDuration('-1'); // undefined
 * ```
 */
export function parseDuration(u: unknown): number | undefined {
  if (typeof u === 'number') return Number.isFinite(u) && u >= 0 ? u : undefined;
  if (typeof u !== 'string') return undefined;
  const match = durationText.exec(u.trim());
  if (match === null) return undefined;
  const [, amount = '', unit = 'ms'] = match;
  const factor = millisecondsPer[unit.toLowerCase()] ?? 1;
  const milliseconds = Number(amount) * factor;
  if (!Number.isFinite(milliseconds)) return undefined;
  return factor === 1 ? milliseconds : Math.round(milliseconds * 1000) / 1000;
}

const tooLong = `duration of at most ${MAX_TIMER_DELAY} ms (about 24.8 days, the longest timer delay)`;

function durationCodec(positive: boolean): t.Type<number, number, unknown> {
  const allowed = (ms: number): boolean => (positive ? ms > 0 : ms >= 0) && ms <= MAX_TIMER_DELAY;
  return new t.Type<number, number, unknown>(
    `${positive ? 'positive' : 'non-negative'} duration in ms`,
    (u): u is number => typeof u === 'number' && allowed(u),
    (u, c) => {
      const ms = parseDuration(u);
      if (ms === undefined || (positive && ms === 0)) return t.failure(u, c);
      return ms > MAX_TIMER_DELAY ? t.failure(u, c, tooLong) : t.success(ms);
    },
    t.identity,
  );
}

/** Milliseconds ≥ 0 (and ≤ {@link MAX_TIMER_DELAY}), in any {@link DurationInput} form. */
export const NonNegativeDuration = durationCodec(false);

/** Milliseconds > 0 (and ≤ {@link MAX_TIMER_DELAY}), in any {@link DurationInput} form. */
export const PositiveDuration = durationCodec(true);
