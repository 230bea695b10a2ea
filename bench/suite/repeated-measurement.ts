import { measureInChild, type Measurement } from './child-measurement.js';
import type { ContenderRef } from './contender-ref.js';
import { spreadOf, type Spread } from './statistics.js';

/** Repeated runs of one contender, each in a fresh process, summarized. */
export interface ContenderSummary {
  readonly runs: readonly Measurement[];
  /** Transactions per second. */
  readonly throughput: Spread;
  /** Wall time of the measured part, in seconds. */
  readonly seconds: Spread;
  /** Median over the runs of each run's p50 / p99 latency (ms), `null` when not recorded. */
  readonly p50: number | null;
  readonly p99: number | null;
  /** Peak RSS in MiB. */
  readonly rss: Spread;
  /** CPU µs per transaction in the contender's process. */
  readonly cpu: Spread;
}

function medianOrNull(values: readonly (number | undefined)[]): number | null {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length === 0 ? null : spreadOf(present).median;
}

function summarize(runs: readonly Measurement[]): ContenderSummary {
  return {
    runs,
    throughput: spreadOf(runs.map((run) => run.count / run.seconds)),
    seconds: spreadOf(runs.map((run) => run.seconds)),
    p50: medianOrNull(runs.map((run) => run.latency?.p50)),
    p99: medianOrNull(runs.map((run) => run.latency?.p99)),
    rss: spreadOf(runs.map((run) => run.rss)),
    cpu: spreadOf(runs.map((run) => run.cpu)),
  };
}

/** The summaries of a set of contenders, by label; `get` throws for an unknown label. */
export class Summaries {
  constructor(private readonly byLabel: ReadonlyMap<string, ContenderSummary>) {}

  get(label: string): ContenderSummary {
    const summary = this.byLabel.get(label);
    if (summary === undefined) throw new Error(`no measurement of ${label}`);
    return summary;
  }

  entries(): IterableIterator<[string, ContenderSummary]> {
    return this.byLabel.entries();
  }
}

/**
 * Runs every contender `repeats` times, each run in a fresh process, round by round (every
 * contender once per round, in turn), so that a noisy moment of the machine hits them alike.
 */
export async function measureRepeatedly(
  contenders: Readonly<Record<string, ContenderRef>>,
  repeats: number,
  timeoutMs: number,
): Promise<Summaries> {
  const runs = new Map<string, Measurement[]>(Object.keys(contenders).map((label) => [label, []]));
  for (let round = 1; round <= repeats; round++) {
    for (const [label, ref] of Object.entries(contenders)) {
      const measurement = await measureInChild(ref, timeoutMs);
      runs.get(label)?.push(measurement);
      const rate = Math.round(measurement.count / measurement.seconds).toLocaleString('en-US');
      console.error(
        `  [${round}/${repeats}] ${label}: ${rate}/s, ${measurement.rss.toFixed(0)} MiB`,
      );
    }
  }
  return new Summaries(
    new Map([...runs].map(([label, measurements]) => [label, summarize(measurements)])),
  );
}

/** A counter the contender reported in `extra`, over the runs (NaN where a run lacks it). */
export function extraOf(summary: ContenderSummary, key: string): Spread {
  return spreadOf(summary.runs.map((run) => run.extra?.[key] ?? Number.NaN));
}
