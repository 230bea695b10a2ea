import { niceTicks, type AxisTicks } from './nice-ticks.js';

/** One line of a {@link LineChart}. */
interface ChartSeries {
  readonly name: string;
  /** Any SVG colour. */
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** A vertical marker across the plot, labelled at its top (the end of a warm-up, say). */
interface ChartMarker {
  readonly x: number;
  readonly label: string;
  /** Shade the plot from the x axis's start up to the marker. */
  readonly shadeBefore: boolean;
}

/** What {@link lineChartSvg} draws. */
export interface LineChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly markers?: readonly ChartMarker[];
  /** Whether the y axis starts at 0 rather than at the lowest value. */
  readonly yFromZero?: boolean;
  readonly width?: number;
  readonly height?: number;
  readonly fontFamily?: string;
}

const margin = { top: 88, right: 32, bottom: 60, left: 76 } as const;
const ink = '#222';
const grid = '#e3e3e3';

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function tickLabel(value: number, ticks: AxisTicks): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(ticks.step) + 1e-9));
  return value.toLocaleString('en-US', {
    minimumFractionDigits: Number.isInteger(ticks.step) ? 0 : decimals,
    maximumFractionDigits: Number.isInteger(ticks.step) ? 0 : decimals + 1,
  });
}

function extent(values: readonly number[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return values.length === 0 ? [0, 1] : [low, high];
}

/**
 * Renders a line chart as a standalone SVG document: title, axes with round ticks and grid
 * lines, axis labels, one polyline per series with a legend above the plot, and optional vertical markers.
 *
 * @example
 * ```ts
 * const svg = lineChartSvg({
 *   title: 'RSS',
 *   xLabel: 'seconds',
 *   yLabel: 'MiB',
 *   series: [{ name: 'RSS', color: '#1f77b4', points: [{ x: 0, y: 90 }, { x: 1, y: 92 }] }],
 * });
 * ```
 */
export function lineChartSvg(chart: LineChart): string {
  const width = chart.width ?? 960;
  const height = chart.height ?? 480;
  const font = escapeXml(chart.fontFamily ?? 'DejaVu Sans');
  const plot = {
    left: margin.left,
    top: margin.top,
    width: width - margin.left - margin.right,
    height: height - margin.top - margin.bottom,
  };
  const points = chart.series.flatMap((series) => series.points);
  const [xMin, xMax] = extent(points.map((point) => point.x));
  const [yLow, yMax] = extent(points.map((point) => point.y));
  const xTicks = niceTicks(xMin, xMax, 10);
  const yStart = chart.yFromZero === true ? Math.min(0, yLow) : yLow;
  // 5 % headroom, so that a line at its maximum does not run along the plot's top edge.
  const yTicks = niceTicks(yStart, yMax + (yMax - yStart) * 0.05, 6);
  const sx = (x: number): number =>
    plot.left + ((x - xTicks.start) / (xTicks.end - xTicks.start)) * plot.width;
  const sy = (y: number): number =>
    plot.top + plot.height - ((y - yTicks.start) / (yTicks.end - yTicks.start)) * plot.height;
  const bottom = plot.top + plot.height;
  const right = plot.left + plot.width;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${font}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="18" font-weight="bold" fill="${ink}">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle !== undefined) {
    parts.push(
      `<text x="${width / 2}" y="46" text-anchor="middle" font-size="13" fill="#555">${escapeXml(chart.subtitle)}</text>`,
    );
  }
  for (const marker of chart.markers ?? []) {
    const x = sx(marker.x);
    if (marker.shadeBefore) {
      parts.push(
        `<rect x="${plot.left}" y="${plot.top}" width="${Math.max(0, x - plot.left)}" height="${plot.height}" fill="#f2f2f2"/>`,
      );
    }
  }
  for (const value of yTicks.values) {
    const y = sy(value);
    parts.push(
      `<line x1="${plot.left}" y1="${y}" x2="${right}" y2="${y}" stroke="${grid}"/>`,
      `<text x="${plot.left - 8}" y="${y + 4}" text-anchor="end" font-size="12" fill="${ink}">${tickLabel(value, yTicks)}</text>`,
    );
  }
  for (const value of xTicks.values) {
    const x = sx(value);
    parts.push(
      `<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="${ink}"/>`,
      `<text x="${x}" y="${bottom + 20}" text-anchor="middle" font-size="12" fill="${ink}">${tickLabel(value, xTicks)}</text>`,
    );
  }
  parts.push(
    `<line x1="${plot.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="${ink}"/>`,
    `<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${bottom}" stroke="${ink}"/>`,
    `<text x="${plot.left + plot.width / 2}" y="${height - 14}" text-anchor="middle" font-size="14" fill="${ink}">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(20 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle" font-size="14" fill="${ink}">${escapeXml(chart.yLabel)}</text>`,
  );
  for (const marker of chart.markers ?? []) {
    const x = sx(marker.x);
    parts.push(
      `<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${bottom}" stroke="#888" stroke-dasharray="6 4"/>`,
      `<text x="${x + 6}" y="${bottom - 8}" font-size="12" fill="#555">${escapeXml(marker.label)}</text>`,
    );
  }
  for (const series of chart.series) {
    const path = series.points.map(
      (point) => `${sx(point.x).toFixed(1)},${sy(point.y).toFixed(1)}`,
    );
    parts.push(
      `<polyline points="${path.join(' ')}" fill="none" stroke="${series.color}" stroke-width="2" stroke-linejoin="round"/>`,
    );
  }
  let legendX = plot.left;
  for (const series of chart.series) {
    const y = plot.top - 16;
    parts.push(
      `<line x1="${legendX}" y1="${y - 4}" x2="${legendX + 24}" y2="${y - 4}" stroke="${series.color}" stroke-width="3"/>`,
      `<text x="${legendX + 32}" y="${y}" font-size="13" fill="${ink}">${escapeXml(series.name)}</text>`,
    );
    legendX += 56 + series.name.length * 8;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
