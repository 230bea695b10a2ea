/**
 * How long to wait before restarting a worker for the `restarts + 1`-th time: `backoff`
 * doubled per earlier restart, capped at `cap` (all in ms).
 *
 * @example
 * ```ts
 * restartDelay(0, 1000, 30_000); // 1000
 * restartDelay(3, 1000, 5000); // 5000 (8000 capped)
 * ```
 */
export function restartDelay(restarts: number, backoff: number, cap: number): number {
  return Math.min(cap, backoff * 2 ** Math.min(restarts, 30));
}
