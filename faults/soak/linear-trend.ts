/** A least-squares straight line through points: y ≈ intercept + slope · x. */
export interface LinearTrend {
  readonly slope: number;
  readonly intercept: number;
}

/**
 * The ordinary least-squares line through `points`. Fewer than two distinct x give a flat line
 * through the mean.
 *
 * @example
 * ```ts
 * linearTrend([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]); // { slope: 2, intercept: 1 }
 * ```
 */
export function linearTrend(
  points: readonly { readonly x: number; readonly y: number }[],
): LinearTrend {
  const n = points.length;
  if (n === 0) return { slope: 0, intercept: 0 };
  let sumX = 0;
  let sumY = 0;
  for (const { x, y } of points) {
    sumX += x;
    sumY += y;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let covariance = 0;
  let varianceX = 0;
  for (const { x, y } of points) {
    covariance += (x - meanX) * (y - meanY);
    varianceX += (x - meanX) ** 2;
  }
  const slope = varianceX === 0 ? 0 : covariance / varianceX;
  return { slope, intercept: meanY - slope * meanX };
}
