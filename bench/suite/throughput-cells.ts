import {
  formatCpu,
  formatLatency,
  formatMebibytes,
  formatRate,
  formatRatio,
} from './number-format.js';
import type { MarkdownTable } from './markdown-table.js';
import type { ContenderSummary, Summaries } from './repeated-measurement.js';

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

/**
 * The table of a scenario that gives each contender a row of {@link throughputCells}, with one
 * ratio column per baseline: `baselines` maps a column header (`× plain ack`) to the label of
 * the contender it divides by. `unit` names one message (`msg`, `job`).
 */
export function throughputTable(
  summaries: Summaries,
  baselines: Readonly<Record<string, string>>,
  unit = 'msg',
): MarkdownTable {
  const rates = Object.values(baselines).map((label) => summaries.get(label).throughput.median);
  const headers = [
    'contender',
    `${unit}s/s median (min–max)`,
    'p50',
    'p99',
    'peak RSS MiB',
    `CPU µs/${unit}`,
    ...Object.keys(baselines),
  ];
  return {
    headers,
    align: ['left', ...headers.slice(1).map(() => 'right' as const)],
    rows: [...summaries.entries()].map(([label, summary]) => [
      label,
      ...throughputCells(summary, rates),
    ]),
  };
}
