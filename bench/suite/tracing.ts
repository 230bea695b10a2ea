import { telemetrySetups } from '../contenders/telemetry.js';
import type { Workload } from '../contenders/workload.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import {
  formatCount,
  formatCpu,
  formatMebibytes,
  formatLatency,
  formatRate,
  formatRatio,
} from './number-format.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario, type TargetCheck } from './scenario.js';
import type * as telemetryContenders from '../contenders/telemetry.js';

const telemetry = contendersOf<typeof telemetryContenders>('contenders/telemetry.js');
const handlers = {
  'no-op (concurrency 64)': { workload: { kind: 'no-op' }, concurrency: 64 },
  'I/O 1 ms (concurrency 256)': { workload: { kind: 'timer', ms: 1 }, concurrency: 256 },
} satisfies Record<string, { workload: Workload; concurrency: number }>;

/** Scenario 4: what tracing costs (the telemetry issue's setups). */
export const tracing: Scenario = {
  id: 'tracing',
  title: 'Tracing on and off',
  description: (options) =>
    `${scaled(50_000, options).toLocaleString('en-US')} transactions, batch mode, one process per setup (setups are global): \`api-only\` (nothing registered, the engine does no span work: tracing off), \`context-manager\` (an AsyncLocalStorage context manager only), \`tracing\` (tracer provider, \`BatchSpanProcessor\`, an exporter that drops spans), \`tracing 1 %\` (the same, sampling 1 % of traces: parent-based, trace id ratio) \`tracing+metrics\` (plus a meter provider with a periodic reader, given an \`EngineMetricProducer\` as \`setupTelemetry\` does) and \`tracing+metrics, attempt spans onFailure\` (the same with \`traces.attemptSpans: 'onFailure'\`: a first attempt that succeeds gets no span; not the default). Ratios are to \`api-only\` with the same handler: \`× off\` of the median throughputs (what the targets judge), \`× off by CPU\` of the median CPU time per transaction (off ÷ setup), which moves much less when other work shares the cores.`,
  run: async (options) => {
    const count = scaled(50_000, options);
    const rows: string[][] = [];
    const targets: TargetCheck[] = [];
    const atLeast = (target: string, ratio: number, minimum: number): void => {
      targets.push({ target, measured: formatRatio(ratio), met: ratio >= minimum });
    };
    for (const [name, handler] of Object.entries(handlers)) {
      const refs: Record<string, ContenderRef> = {};
      for (const setup of telemetrySetups) {
        const run = { ...handler, count, mode: 'batch' as const, latency: true, setup };
        refs[setup] = telemetry('tracedConsume', run, {
          // The warm-up has the measured run's shape (latency recorded too), as in the engine
          // scenario: one without it trained the JIT on other transaction objects.
          warmup: { ...run, count: Math.round(count / 5) },
        });
      }
      const summaries = await measureRepeatedly(refs, options.repeats, 180_000);
      const off = summaries.get('api-only').throughput.median;
      const offCpu = summaries.get('api-only').cpu.median;
      const median = (setup: (typeof telemetrySetups)[number]): number =>
        summaries.get(setup).throughput.median;
      // The targets of issue #24 (telemetry cost), ratios within this run.
      atLeast(
        `tracing+metrics ≥ 0.9× tracing alone, ${name}`,
        median('tracing+metrics') / median('tracing'),
        0.9,
      );
      if (handler.workload.kind === 'no-op') {
        atLeast(`tracing 1 % ≥ 0.8× off, ${name}`, median('tracing 1 %') / off, 0.8);
      } else {
        atLeast(`tracing+metrics ≥ 0.6× off, ${name}`, median('tracing+metrics') / off, 0.6);
      }
      for (const [setup, summary] of summaries.entries()) {
        const spans = summary.runs[0]?.extra?.['spans'] ?? 0;
        rows.push([
          name,
          setup,
          formatRate(summary.throughput),
          formatLatency(summary.p50),
          formatLatency(summary.p99),
          formatMebibytes(summary.rss),
          formatCpu(summary.cpu),
          formatRatio(summary.throughput.median / off),
          formatRatio(offCpu / summary.cpu.median),
          formatCount(spans),
        ]);
      }
    }
    return {
      tables: [
        {
          headers: [
            'handler',
            'setup',
            'tx/s median (min–max)',
            'p50',
            'p99',
            'peak RSS MiB',
            'CPU µs/tx',
            '× off',
            '× off by CPU',
            'spans exported (warm-up included)',
          ],
          align: [
            'left',
            'left',
            'right',
            'right',
            'right',
            'right',
            'right',
            'right',
            'right',
            'right',
          ],
          rows,
        },
      ],
      targets,
    };
  },
};
