import type { EngineRun } from '../contenders/engine.js';
import type { Workload } from '../contenders/workload.js';
import { MinHeap } from './min-heap.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import { formatCpu, formatMebibytes, formatLatency } from './number-format.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario, type TargetCheck } from './scenario.js';
import type * as engineContenders from '../contenders/engine.js';

const engine = contendersOf<typeof engineContenders>('contenders/engine.js');
const concurrency = 1000;
const workloads = {
  'every handler 20 ms': { kind: 'timer', ms: 20 },
  '10 % of handlers 500 ms': { kind: 'timer', ms: 20, slowEvery: 10, slowMs: 500 },
} satisfies Record<string, Workload>;

/**
 * The best an in-order pool can do: the makespan of the same handlers taken in order by
 * `concurrency` slots with no overhead at all (each goes to the slot that frees first). With
 * uniform handlers this is total time ÷ slots; with slow ones it includes the tail that the last
 * slow handlers leave, which no pool can avoid.
 */
function idealSeconds(workload: Workload, count: number): number {
  if (workload.kind !== 'timer') throw new Error('ideal time needs a timer workload');
  const slowMs = workload.slowMs ?? workload.ms;
  const freeAt = new MinHeap(concurrency);
  let makespan = 0;
  for (let i = 0; i < count; i++) {
    const slow = workload.slowEvery !== undefined && i % workload.slowEvery === 0;
    const end = freeAt.pop() + (slow ? slowMs : workload.ms);
    freeAt.push(end);
    makespan = Math.max(makespan, end);
  }
  return makespan / 1000;
}

function contenders(run: EngineRun, warmup: EngineRun): Record<string, ContenderRef> {
  return {
    'ergon-rx continuous': engine(
      'ergonConsume',
      { ...run, mode: 'continuous' },
      { warmup: { ...warmup, mode: 'continuous' } },
    ),
    'ergon-rx batch': engine(
      'ergonConsume',
      { ...run, mode: 'batch' },
      { warmup: { ...warmup, mode: 'batch' } },
    ),
    'raw promise pool': engine('promisePool', run, { warmup }),
    'p-queue': engine('pQueue', run, { warmup }),
  };
}

/** Scenario 2: does the engine keep 1000 slots busy when handlers wait on I/O? */
export const ioBound: Scenario = {
  id: 'io',
  title: 'I/O-bound handlers',
  description: (options) =>
    `${scaled(20_000, options).toLocaleString('en-US')} transactions, each awaiting a timer, at concurrency ${concurrency}: every handler 20 ms, then 10 % of them (every tenth) 500 ms. Efficiency = ideal time ÷ actual time, where the ideal is the makespan of the same handlers taken in order by ${concurrency} slots with no overhead (timers fire 1 ms or so late, so even the raw pool stays a little under 1). Each run is a fresh process with a warm-up run of a quarter of the count first, as a long-running worker would be. Batch mode waits for the slowest transaction of each batch before fetching the next, so with slow handlers it is expected to lose most of its efficiency: that is what continuous mode is for.`,
  run: async (options) => {
    const count = scaled(20_000, options);
    const rows: string[][] = [];
    const targets: TargetCheck[] = [];
    for (const [name, workload] of Object.entries(workloads)) {
      const run: EngineRun = { count, concurrency, workload, latency: true };
      const warmup: EngineRun = { ...run, count: Math.ceil(count / 4) };
      const ideal = idealSeconds(workload, count);
      const summaries = await measureRepeatedly(contenders(run, warmup), options.repeats, 180_000);
      for (const [label, summary] of summaries.entries()) {
        const { median, min, max } = summary.seconds;
        rows.push([
          name,
          label,
          `${median.toFixed(2)} (${min.toFixed(2)}–${max.toFixed(2)})`,
          ideal.toFixed(2),
          `${(ideal / median).toFixed(2)} (${(ideal / max).toFixed(2)}–${(ideal / min).toFixed(2)})`,
          formatLatency(summary.p50),
          formatLatency(summary.p99),
          formatMebibytes(summary.rss),
          formatCpu(summary.cpu),
        ]);
      }
      const efficiency = (label: string): number => ideal / summaries.get(label).seconds.median;
      if (workload === workloads['every handler 20 ms']) {
        for (const mode of ['continuous', 'batch'] as const) {
          const value = efficiency(`ergon-rx ${mode}`);
          targets.push({
            target: `I/O efficiency ≥ 0.9, ${mode} mode`,
            measured: value.toFixed(2),
            met: value >= 0.9,
          });
        }
      } else {
        const value = efficiency('ergon-rx continuous');
        targets.push({
          target:
            'I/O efficiency with 10 % slow handlers ≥ 0.8, continuous mode (no head-of-line blocking)',
          measured: value.toFixed(2),
          met: value >= 0.8,
        });
      }
    }
    return {
      tables: [
        {
          headers: [
            'handlers',
            'contender',
            'seconds median (min–max)',
            'ideal s',
            'efficiency',
            'p50',
            'p99',
            'peak RSS MiB',
            'CPU µs/tx',
          ],
          align: ['left', 'left', ...Array.from({ length: 7 }, () => 'right' as const)],
          rows,
        },
      ],
      targets,
    };
  },
};
