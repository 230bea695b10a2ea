import type { EndToEndRun } from '../contenders/end-to-end.js';
import type { ContenderRef } from './contender-ref.js';
import { formatRatio } from './number-format.js';
import { measureRepeatedly, type Summaries } from './repeated-measurement.js';
import { throughputTable } from './throughput-cells.js';
import { scaled, type Scenario, type ScenarioOptions, type TargetCheck } from './scenario.js';

/** What sets one broker's scenario apart from another's. */
export interface BrokerScenarioSpec {
  readonly id: string;
  readonly title: string;
  /** What the contenders do (markdown), after the common description. */
  readonly contenders: string;
  /** The full-size run (`count` is scaled). */
  readonly run: EndToEndRun;
  /**
   * The contenders of a run; each gets `warmup` (the run with a fifth of its count, each
   * contender adding what it adds to `run`) as its warm-up run.
   */
  readonly refs: (run: EndToEndRun, warmup: EndToEndRun) => Record<string, ContenderRef>;
  /** Labels of the contenders every row is compared with. */
  readonly baselines: readonly string[];
  readonly targets: (summaries: Summaries) => TargetCheck[];
}

/** Scenario 6, for one broker: produce + consume end to end against the raw driver or a peer. */
export function brokerScenario(spec: BrokerScenarioSpec): Scenario {
  const runOf = (options: ScenarioOptions): EndToEndRun => ({
    ...spec.run,
    count: scaled(spec.run.count, options),
  });
  return {
    id: spec.id,
    title: spec.title,
    description: (options) => {
      const run = runOf(options);
      return `${run.count.toLocaleString('en-US')} messages produced and consumed end to end, at the same time, on the local server (which shares the two cores): producer batches of ${run.dispatchBatch}, consumer concurrency ${run.concurrency}, a no-op \`async\` handler. The clock runs from the start of both to the last acknowledgement. Each run is a fresh process with a warm-up run of a fifth of the count first, of the same shape (on a stream, queue or table of its own), as a long-running worker would have. ${spec.contenders}`;
    },
    run: async (options) => {
      const run = runOf(options);
      const summaries = await measureRepeatedly(
        spec.refs(run, { ...run, count: Math.max(1, Math.round(run.count / 5)) }),
        options.repeats,
        240_000,
      );
      const baselines = Object.fromEntries(spec.baselines.map((label) => [`× ${label}`, label]));
      return {
        tables: [throughputTable(summaries, baselines)],
        targets: spec.targets(summaries),
      };
    },
  };
}

/** A target "`label` ≥ `factor` × `baseline`" checked on medians. */
export function ratioTarget(
  summaries: Summaries,
  label: string,
  baseline: string,
  factor: number,
  target: string,
): TargetCheck {
  const ratio = summaries.get(label).throughput.median / summaries.get(baseline).throughput.median;
  return { target, measured: formatRatio(ratio), met: ratio >= factor };
}
