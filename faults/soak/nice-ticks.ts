/** Tick values for an axis, and the domain they span. */
export interface AxisTicks {
  /** The axis's start: `min` rounded down to a tick. */
  readonly start: number;
  /** The axis's end: `max` rounded up to a tick. */
  readonly end: number;
  readonly step: number;
  readonly values: readonly number[];
}

/** The step among 1, 2, 2.5, 5 × 10ᵏ nearest to `rough` (on a logarithmic scale, roughly). */
function niceStep(rough: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / magnitude;
  const nice =
    fraction < 1.5 ? 1 : fraction < 2.25 ? 2 : fraction < 3.5 ? 2.5 : fraction < 7 ? 5 : 10;
  return nice * magnitude;
}

/**
 * Round tick values covering `min`…`max` with about `count` intervals (Heckbert's "nice
 * numbers"): steps of 1, 2, 2.5 or 5 times a power of ten, the domain widened to whole steps.
 * An empty range (`min === max`) is widened to one unit around it.
 *
 * @example
 * ```ts
 * niceTicks(0, 187, 5); // { start: 0, end: 200, step: 50, values: [0, 50, 100, 150, 200] }
 * ```
 */
export function niceTicks(min: number, max: number, count: number): AxisTicks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max || count < 1) {
    throw new RangeError(`niceTicks: bad range ${min}…${max} or count ${count}`);
  }
  const [low, high] = min === max ? [min - 0.5, max + 0.5] : [min, max];
  const step = niceStep((high - low) / count);
  const start = Math.floor(low / step) * step;
  const end = Math.ceil(high / step) * step;
  const values: number[] = [];
  const intervals = Math.round((end - start) / step);
  for (let index = 0; index <= intervals; index++) {
    values.push(Number((start + index * step).toPrecision(12)));
  }
  return { start, end, step, values };
}
