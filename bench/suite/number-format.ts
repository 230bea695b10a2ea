/** How the suite's tables show numbers. */
import type { Spread } from './statistics.js';

/** A whole number with thousands separators: `1,234,567`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A rate with its spread: `1,234,567 (1,100,000–1,300,000)`. */
export function formatRate(spread: Spread): string {
  return `${formatCount(spread.median)} (${formatCount(spread.min)}–${formatCount(spread.max)})`;
}

/** A ratio with two decimals: `1.53×`. */
export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** A latency in ms, shown in µs below 1 ms, or `—` when not measured: `0.56 µs`, `21.4 ms`. */
export function formatLatency(milliseconds: number | null): string {
  if (milliseconds === null) return '—';
  const [value, unit] = milliseconds < 1 ? [milliseconds * 1000, 'µs'] : [milliseconds, 'ms'];
  return `${value >= 100 ? value.toFixed(0) : value.toPrecision(3)} ${unit}`;
}

/** A size in MiB with its spread: `81 (79–84)`. */
export function formatMebibytes(spread: Spread): string {
  return `${spread.median.toFixed(0)} (${spread.min.toFixed(0)}–${spread.max.toFixed(0)})`;
}

/** CPU µs per transaction, median only: `1.23`, `45.6`. */
export function formatCpu(spread: Spread): string {
  return spread.median >= 100 ? spread.median.toFixed(0) : spread.median.toPrecision(3);
}
