import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where fault specs leave their results for `RELIABILITY.md` (ignored by git). */
export const RESULTS_DIR = join(process.cwd(), '.faults-results');

/** What one fault did to one connector, as a row of `RELIABILITY.md`. */
export interface FaultResult {
  /** The fault, as the table names it: `worker SIGKILL (×3)`, `broker restarted`… */
  readonly fault: string;
  /** `rabbitmq`, `postgres`, `redis`, `nats`, `memory`… */
  readonly connector: string;
  /** How many times the fault was injected (one run of the scenario may inject it several times). */
  readonly runs: number;
  /** Messages published for the scenario. */
  readonly messages: number;
  /** Ids never processed nor dead-lettered (must be 0). */
  readonly lost: number;
  /** Extra processings beyond one per id. */
  readonly duplicates: number;
  /** Why the duplicates happened (`redeliveries of the killed worker's unacked batch`), or `none`. */
  readonly duplicatesExplained: string;
  /** From the fault to the first transaction settled after it, in ms; `null` when not meaningful. */
  readonly recoveryMs: number | null;
  /** Anything a reader of the table needs (dead-lettered count, exit code…). */
  readonly notes?: string;
}

/** One second of the soak run. */
export interface SoakSample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly settled: number;
  readonly activeHandles: number;
  readonly timers: number;
  readonly listeners: number;
}

/** The soak run as a whole; its PNG plot is written next to `RELIABILITY.md`. */
export interface SoakResult {
  readonly messages: number;
  readonly failureRate: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly durationMs: number;
  readonly warmupSeconds: number;
  readonly samples: readonly SoakSample[];
  /** Path of the RSS plot relative to the repository root. */
  readonly plot: string;
  readonly verdict: string;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * Saves a fault's result (a loss too: the table must show it; the spec itself fails on it). A
 * later run of the same fault and connector replaces it.
 */
export function recordFaultResult(result: FaultResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${slug(result.fault)}--${slug(result.connector)}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** Saves the soak run's result. */
export function recordSoakResult(result: SoakResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
}
