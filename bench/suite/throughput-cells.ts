import {
  formatCpu,
  formatLatency,
  formatMebibytes,
  formatRate,
  formatRatio,
} from './number-format.js';
import type { ContenderSummary } from './repeated-measurement.js';

/**
 * The cells every throughput table shows for a contender: rate, p50, p99, peak RSS, CPU per
 * transaction, then its throughput as a ratio to each baseline's median rate.
 */
export function throughputCells(
  summary: ContenderSummary,
  baselineRates: readonly number[],
): string[] {
  return [
    formatRate(summary.throughput),
    formatLatency(summary.p50),
    formatLatency(summary.p99),
    formatMebibytes(summary.rss),
    formatCpu(summary.cpu),
    ...baselineRates.map((rate) => formatRatio(summary.throughput.median / rate)),
  ];
}
