import type { LatencySummary } from './latency-recorder.js';

/** What one run of a contender reports: how many it finished, how long it took, latencies. */
export interface RunResult {
  /** Transactions (messages, jobs) the run finished. */
  readonly count: number;
  /** Wall time of the measured part, in seconds. */
  readonly seconds: number;
  /** Fetch-to-settle (take-to-completion for baselines) percentiles, when recorded. */
  readonly latency: LatencySummary | null;
  /** Contender-specific counters (spans exported, …). */
  readonly extra?: Readonly<Record<string, number>>;
}

/** A contender: one measured run, described by JSON-serializable parameters. */
export type Contender<Params> = (params: Params) => Promise<RunResult>;

/** Seconds since `started` (a `performance.now()` reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
