import { linearTrend } from './linear-trend.js';

/** How flat a series must be: its least-squares trend and its spread, both bounded. */
export interface FlatnessBound {
  /** Largest trend allowed, in units per minute (growth; a falling series is flat). */
  readonly maxRisePerMinute: number;
  /** Largest max − min allowed. */
  readonly maxRange: number;
}

/** One series judged against a {@link FlatnessBound}. */
export interface Flatness {
  readonly metric: string;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  /** Slope of the least-squares line, in units per minute. */
  readonly risePerMinute: number;
  readonly bound: FlatnessBound;
  readonly flat: boolean;
}

/**
 * Judges the series `values` sampled at `seconds`: flat when its least-squares slope is at
 * most `maxRisePerMinute` and its range at most `maxRange`.
 *
 * @example
 * ```ts
 * assessFlatness('RSS', 'MiB', [0, 1, 2], [100, 101, 100], { maxRisePerMinute: 2, maxRange: 8 });
 * // { …, risePerMinute: 0, flat: true }
 * ```
 */
export function assessFlatness(
  metric: string,
  unit: string,
  seconds: readonly number[],
  values: readonly number[],
  bound: FlatnessBound,
): Flatness {
  if (seconds.length !== values.length || values.length < 2) {
    throw new RangeError(`${metric}: need two samples or more, with a time each`);
  }
  const { slope } = linearTrend(values.map((y, index) => ({ x: seconds[index] ?? 0, y })));
  const min = Math.min(...values);
  const max = Math.max(...values);
  const risePerMinute = slope * 60;
  const flat = risePerMinute <= bound.maxRisePerMinute && max - min <= bound.maxRange;
  return { metric, unit, min, max, risePerMinute, bound, flat };
}

/** `RSS 181.2–204.9 MiB, trend +0.31 MiB/min (bound 2), range 23.7 (bound 64): flat`. */
export function describeFlatness(flatness: Flatness): string {
  const digits = flatness.max - flatness.min < 10 && flatness.unit === '' ? 0 : 1;
  const unit = flatness.unit === '' ? '' : ` ${flatness.unit}`;
  const sign = flatness.risePerMinute >= 0 ? '+' : '−';
  return (
    `${flatness.metric} ${flatness.min.toFixed(digits)}–${flatness.max.toFixed(digits)}${unit}, ` +
    `trend ${sign}${Math.abs(flatness.risePerMinute).toFixed(2)}${unit}/min (bound ${flatness.bound.maxRisePerMinute}), ` +
    `range ${(flatness.max - flatness.min).toFixed(digits)} (bound ${flatness.bound.maxRange}): ` +
    (flatness.flat ? 'flat' : 'NOT flat')
  );
}
