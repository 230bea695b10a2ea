import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { SoakSample } from '../support/fault-result.js';
import { lineChartSvg } from './line-chart.js';

/** Where the soak's memory plot goes, relative to the repository root (and to `RELIABILITY.md`). */
export const SOAK_PLOT_PATH = 'docs/reliability/soak-rss.png';

const fontFamily = 'DejaVu Sans';

/**
 * Draws the worker's resident set size and V8 heap over the soak, with the end of the warm-up
 * marked, and writes it as a PNG to {@link SOAK_PLOT_PATH}.
 */
export function writeSoakPlot(
  samples: readonly SoakSample[],
  warmupSeconds: number,
  messages: number,
): void {
  const svg = lineChartSvg({
    title: 'Soak worker memory',
    subtitle: `${messages.toLocaleString('en-US')} transactions RabbitMQ → task → PostgreSQL, one sample per second`,
    xLabel: 'seconds since the worker started',
    yLabel: 'MiB',
    yFromZero: true,
    fontFamily,
    series: [
      {
        name: 'RSS',
        color: '#1f77b4',
        points: samples.map((sample) => ({ x: sample.seconds, y: sample.rssMiB })),
      },
      {
        name: 'V8 heap used',
        color: '#e07b00',
        points: samples.map((sample) => ({ x: sample.seconds, y: sample.heapUsedMiB })),
      },
    ],
    markers: [{ x: warmupSeconds, label: 'warm-up ends', shadeBefore: true }],
  });
  const png = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: fontFamily },
    fitTo: { mode: 'zoom', value: 1 },
  })
    .render()
    .asPng();
  const file = join(process.cwd(), SOAK_PLOT_PATH);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, png);
}
