import type { EngineRun } from '../contenders/engine.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import { formatMebibytes, formatRate } from './number-format.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario, type TargetCheck } from './scenario.js';
import type * as engineContenders from '../contenders/engine.js';

const engine = contendersOf<typeof engineContenders>('contenders/engine.js');
const sizes = { small: 200_000, large: 2_000_000 } as const;
/** Peak RSS for 10× the transactions within this factor of the smaller run's. */
const bound = 1.3;
const contenderLabels = ['ergon-rx batch', 'ergon-rx continuous', 'raw promise pool (control)'];
/** V8 flags of each row: as is, and with the young generation pinned (it grows with churn). */
const flagSets = {
  default: [],
  'young generation pinned at 16 MiB': ['--min-semi-space-size=16', '--max-semi-space-size=16'],
} satisfies Record<string, string[]>;

function contenders(sizeOf: (size: keyof typeof sizes) => number): Record<string, ContenderRef> {
  const refs: Record<string, ContenderRef> = {};
  for (const size of Object.keys(sizes) as (keyof typeof sizes)[]) {
    const run: EngineRun = {
      count: sizeOf(size),
      concurrency: 64,
      workload: { kind: 'no-op' },
      latency: false,
    };
    for (const [flags, nodeFlags] of Object.entries(flagSets)) {
      const options = { nodeFlags };
      refs[`ergon-rx batch ${size} ${flags}`] = engine(
        'ergonConsume',
        { ...run, mode: 'batch' },
        options,
      );
      refs[`ergon-rx continuous ${size} ${flags}`] = engine(
        'ergonConsume',
        { ...run, mode: 'continuous' },
        options,
      );
      refs[`raw promise pool (control) ${size} ${flags}`] = engine('promisePool', run, options);
    }
  }
  return refs;
}

/** Scenario 5: memory stays flat whatever the source size. */
export const memoryBound: Scenario = {
  id: 'memory',
  title: 'Memory',
  description: (options) =>
    `${scaled(sizes.large, options).toLocaleString('en-US')} against ${scaled(sizes.small, options).toLocaleString('en-US')} transactions from a lazy generator source through a no-op handler at concurrency 64 (no latency recording), peak RSS of a fresh process per run; the raw promise pool is the control (it holds nothing per transaction). Bounded means the larger run's peak within ${bound}× the smaller's: V8 grows its young generation with the garbage rate, so a little growth is expected: the second set of rows pins it (\`--min-semi-space-size=16 --max-semi-space-size=16\`) to show what is left. The target is checked on the default flags.`,
  run: async (options) => {
    const summaries = await measureRepeatedly(
      contenders((size) => scaled(sizes[size], options)),
      options.repeats,
      300_000,
    );
    const targets: TargetCheck[] = [];
    const rows = Object.keys(flagSets).flatMap((flags) =>
      contenderLabels.map((label) => {
        const small = summaries.get(`${label} small ${flags}`);
        const large = summaries.get(`${label} large ${flags}`);
        const ratio = large.rss.median / small.rss.median;
        if (label.startsWith('ergon-rx') && flags === 'default') {
          targets.push({
            target: `memory bounded, ${label.slice('ergon-rx '.length)} mode: peak RSS 2M ≤ ${bound}× 200k`,
            measured: `${ratio.toFixed(2)}×`,
            met: ratio <= bound,
          });
        }
        return [
          label,
          flags,
          formatMebibytes(small.rss),
          formatMebibytes(large.rss),
          `${ratio.toFixed(2)}×`,
          formatRate(large.throughput),
        ];
      }),
    );
    return {
      tables: [
        {
          headers: [
            'contender',
            'V8 flags',
            'peak RSS MiB, 200k',
            'peak RSS MiB, 2M',
            '2M ÷ 200k',
            'tx/s, 2M',
          ],
          align: ['left', 'left', 'right', 'right', 'right', 'right'],
          rows,
        },
      ],
      targets,
    };
  },
};
