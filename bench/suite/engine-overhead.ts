import type { LoopMode } from 'ergon-rx';
import type { EngineRun } from '../contenders/engine.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import type { MarkdownTable } from './markdown-table.js';
import { formatRatio } from './number-format.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { throughputCells } from './throughput-cells.js';
import { scaled, type Scenario, type TargetCheck } from './scenario.js';
import type * as engineContenders from '../contenders/engine.js';

const engine = contendersOf<typeof engineContenders>('contenders/engine.js');
const concurrencies = [1, 64, 1024] as const;
const baselines = {
  'raw promise pool': 'promisePool',
  'p-queue': 'pQueue',
  'naive mergeMap': 'naiveMergeMap',
} as const;
const modes: readonly LoopMode[] = ['batch', 'continuous'];
/** Issue #7: ergon-rx at concurrency 64 at least this many times p-queue's throughput. */
const pQueueTarget = 1.5;
/** Issue #18: order per key (64 active keys) costs at most a tenth of the throughput. */
const keyedTarget = 0.9;
/** The keyed row: continuous mode, one key per slot (`payload % 64`). */
const keyedLabel = 'ergon-rx continuous, 64 keys';

function contenders(run: EngineRun, warmup: EngineRun): Record<string, ContenderRef> {
  const refs: Record<string, ContenderRef> = {};
  for (const mode of modes) {
    refs[`ergon-rx ${mode}`] = engine(
      'ergonConsume',
      { ...run, mode },
      { warmup: { ...warmup, mode } },
    );
  }
  if (run.concurrency === 64) {
    const keyed = { mode: 'continuous', keys: 64 } as const;
    refs[keyedLabel] = engine(
      'ergonConsume',
      { ...run, ...keyed },
      { warmup: { ...warmup, ...keyed } },
    );
  }
  for (const [label, name] of Object.entries(baselines)) {
    refs[label] = engine(name, run, { warmup });
  }
  return refs;
}

/** Scenario 1: what the engine costs per transaction when the handler does nothing. */
export const engineOverhead: Scenario = {
  id: 'engine',
  title: 'Engine overhead',
  description: (options) =>
    `${scaled(100_000, options).toLocaleString('en-US')} transactions from the memory connector (lazy generator source) through a no-op \`async\` handler, at concurrency 1, 64 and 1024, in batch and continuous mode (at 64 also continuous with a key per transaction, 64 keys active: order per key; the key function picks an existing key name, as reading a payload's field does), against a raw promise pool (N \`for await\` workers), p-queue and a naive \`from(source).pipe(mergeMap(handler, N))\`. Each run is a fresh process with a warm-up run of a fifth of the count first, of the same shape (latency recorded too). Latency: fetch-to-settle for ergon-rx, take-to-completion for the baselines.`,
  run: async (options) => {
    const rows: string[][] = [];
    const targets: TargetCheck[] = [];
    for (const concurrency of concurrencies) {
      const count = scaled(100_000, options);
      const run: EngineRun = { count, concurrency, workload: { kind: 'no-op' }, latency: true };
      // The warm-up has the measured run's shape (latency recorded too): one without it taught
      // the JIT the memory connector's transactions, and the measured run, whose transactions
      // go through the latency wrapper, was then re-optimized while it was timed.
      const warmup: EngineRun = { ...run, count: Math.round(count / 5) };
      const summaries = await measureRepeatedly(contenders(run, warmup), options.repeats, 180_000);
      const baselineRates = Object.keys(baselines).map(
        (label) => summaries.get(label).throughput.median,
      );
      for (const [label, summary] of summaries.entries()) {
        rows.push([String(concurrency), label, ...throughputCells(summary, baselineRates)]);
      }
      if (concurrency === 64) {
        const pQueue = summaries.get('p-queue').throughput.median;
        for (const mode of modes) {
          const ratio = summaries.get(`ergon-rx ${mode}`).throughput.median / pQueue;
          targets.push({
            target: `engine ${mode} ≥ ${pQueueTarget}× p-queue at concurrency 64`,
            measured: formatRatio(ratio),
            met: ratio >= pQueueTarget,
          });
        }
        const keyedRatio =
          summaries.get(keyedLabel).throughput.median /
          summaries.get('ergon-rx continuous').throughput.median;
        targets.push({
          target: `keyed (64 active keys) ≥ ${keyedTarget}× unkeyed, continuous, concurrency 64`,
          measured: formatRatio(keyedRatio),
          met: keyedRatio >= keyedTarget,
        });
      }
    }
    const table: MarkdownTable = {
      headers: [
        'concurrency',
        'contender',
        'tx/s median (min–max)',
        'p50',
        'p99',
        'peak RSS MiB',
        'CPU µs/tx',
        ...Object.keys(baselines).map((label) => `× ${label}`),
      ],
      align: ['right', 'left', ...Array.from({ length: 8 }, () => 'right' as const)],
      rows,
    };
    return { tables: [table], targets };
  },
};
