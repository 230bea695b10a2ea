import type { LoopMode } from 'ergon-rx';
import type { EngineRun } from '../contenders/engine.js';
import type { Workload } from '../contenders/workload.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import { formatLatency, formatRate, formatRatio } from './number-format.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario } from './scenario.js';
import type * as engineContenders from '../contenders/engine.js';

const engine = contendersOf<typeof engineContenders>('contenders/engine.js');
const concurrency = 64;
const workloads = {
  clean: { kind: 'no-op' },
  flaky: { kind: 'fail-once', every: 10 },
} satisfies Record<string, Workload>;
const modes: readonly LoopMode[] = ['batch', 'continuous'];
const contenderLabels = [
  ...modes.map((mode) => `ergon-rx ${mode}`),
  'ergon-rx continuous, default logger',
  'p-queue + retry loop',
];

/**
 * What one failed attempt adds, in µs of wall time: the extra time per transaction between the
 * two runs, times the transactions per failure.
 */
function costPerFailure(cleanRate: number, flakyRate: number): number {
  return (1 / flakyRate - 1 / cleanRate) * workloads.flaky.every * 1e6;
}

function contenders(count: number): Record<string, ContenderRef> {
  const refs: Record<string, ContenderRef> = {};
  for (const [name, workload] of Object.entries(workloads)) {
    const run: EngineRun = { count, concurrency, workload, latency: true, maxAttempts: 2 };
    const warmup: EngineRun = { ...run, count: Math.round(count / 5), latency: false };
    for (const mode of modes) {
      refs[`ergon-rx ${mode} ${name}`] = engine(
        'ergonConsume',
        { ...run, mode, logging: 'silent' },
        { warmup: { ...warmup, mode, logging: 'silent' } },
      );
    }
    refs[`ergon-rx continuous, default logger ${name}`] = engine(
      'ergonConsume',
      { ...run, mode: 'continuous', logging: 'default' },
      { warmup: { ...warmup, mode: 'continuous', logging: 'silent' } },
    );
    refs[`p-queue + retry loop ${name}`] = engine('pQueue', run, { warmup });
  }
  return refs;
}

/** Scenario 3: what a first-attempt failure of one transaction in ten costs. */
export const retries: Scenario = {
  id: 'retries',
  title: 'Retries',
  description: (options) =>
    `${scaled(100_000, options).toLocaleString('en-US')} transactions at concurrency ${concurrency} with \`process.retry = { maxAttempts: 2, backoff: 0 }\`: a no-op handler, then one where every tenth transaction throws on its first attempt (a new \`Error\` each time) and succeeds on the retry. The ergon-rx rows give the task a silent logger, as p-queue logs nothing; the \`default logger\` row keeps the default, which warns with the error's stack on every failed attempt (to the console: here a pipe to the parent process). p-queue runs the same handler in a plain \`for\`/\`try\` retry loop. The last columns are the throughput with failures ÷ without, and what one failed attempt adds in µs of wall time: ergon-rx handles a transaction in well under a microsecond when nothing fails, so the same failure (a new \`Error\` with its stack, a rejected promise, the retry) weighs more in its ratio than in p-queue's.`,
  run: async (options) => {
    const summaries = await measureRepeatedly(
      contenders(scaled(100_000, options)),
      options.repeats,
      180_000,
    );
    const rows = contenderLabels.map((label) => {
      const clean = summaries.get(`${label} clean`);
      const flaky = summaries.get(`${label} flaky`);
      return [
        label,
        formatRate(clean.throughput),
        formatRate(flaky.throughput),
        formatLatency(clean.p99),
        formatLatency(flaky.p99),
        formatRatio(flaky.throughput.median / clean.throughput.median),
        costPerFailure(clean.throughput.median, flaky.throughput.median).toFixed(1),
      ];
    });
    return {
      tables: [
        {
          headers: [
            'contender',
            'no failures tx/s',
            '10 % fail once tx/s',
            'p99, no failures',
            'p99, 10 % fail once',
            'with ÷ without failures',
            'µs per failed attempt',
          ],
          align: ['left', ...Array.from({ length: 6 }, () => 'right' as const)],
          rows,
        },
      ],
      targets: [],
    };
  },
};
