import { recordFaultResult } from '../../support/fault-result.js';

/**
 * The longest one decode may take: slower is a hang in the making (catastrophic backtracking,
 * a quadratic walk); a GC pause on a loaded machine stays well below it.
 */
export const SLOW_DECODE_MS = 1000;

/**
 * Counts the inputs one fuzz spec fed its decoders and what went wrong, and records the
 * spec's row of the `fuzzed decoders` table (a crash, a hang or an accepted invalid value is
 * a loss: the decoder lost track of the input).
 */
export class FuzzTally {
  inputs = 0;
  rejected = 0;
  accepted = 0;
  failures = 0;
  slowestMs = 0;

  constructor(private readonly connector: string) {}

  /** Times `decode` on one input. */
  time<T>(decode: () => T): T {
    const started = performance.now();
    try {
      return decode();
    } finally {
      this.inputs++;
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
    }
  }

  record(notes: string): void {
    recordFaultResult({
      fault: 'fuzzed decoders',
      connector: this.connector,
      runs: this.inputs,
      messages: this.inputs,
      lost: this.failures,
      duplicates: 0,
      duplicatesExplained: 'none',
      recoveryMs: null,
      notes: `${this.rejected} rejected with a typed error naming the path, ${this.accepted} accepted (and valid); slowest decode ${this.slowestMs.toFixed(1)} ms; ${notes}`,
    });
  }
}
