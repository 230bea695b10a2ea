import type { MarkdownTable } from './markdown-table.js';

/** A target of the issue, checked against this run's numbers. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** What a scenario found: its tables and its targets. */
interface ScenarioReport {
  readonly tables: readonly MarkdownTable[];
  readonly targets: readonly TargetCheck[];
}

/** How much work each scenario does: repeats per contender and a factor on its counts. */
export interface ScenarioOptions {
  readonly repeats: number;
  /** Multiplies every transaction count (1 for the full suite; less for a quick check). */
  readonly scale: number;
}

/** One scenario of `npm run bench`. */
export interface Scenario {
  /** Short name for `--only`. */
  readonly id: string;
  readonly title: string;
  /** What runs and how it is measured (markdown). */
  readonly description: (options: ScenarioOptions) => string;
  readonly run: (options: ScenarioOptions) => Promise<ScenarioReport>;
}

/** `count × scale`, at least `floor`. */
export function scaled(count: number, options: ScenarioOptions, floor = 1000): number {
  return Math.max(floor, Math.round(count * options.scale));
}
