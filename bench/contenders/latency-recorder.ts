/** Fetch-to-settle (or take-to-completion) latency percentiles of one run, in milliseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
}

/**
 * Collects latency samples into a preallocated `Float64Array`, so that recording one costs a
 * clock read and a store: no allocation, no growth, nothing the GC has to trace. Samples past
 * the capacity are dropped (the first `capacity` are the ones summarized).
 *
 * @example
 * ```ts
 * const recorder = new LatencyRecorder(count);
 * const taken = performance.now();
 * await work();
 * recorder.record(performance.now() - taken);
 * recorder.summary(); // { p50, p99 } in ms
 * ```
 */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private size = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  /** Adds one sample, in milliseconds. */
  record(milliseconds: number): void {
    if (this.size < this.samples.length) this.samples[this.size++] = milliseconds;
  }

  /** The median and 99th percentile of the samples (nearest rank), or `null` when there are none. */
  summary(): LatencySummary | null {
    if (this.size === 0) return null;
    const sorted = this.samples.subarray(0, this.size).sort();
    const rank = (quantile: number): number =>
      sorted[Math.min(this.size - 1, Math.ceil(quantile * this.size) - 1)] as number;
    return { p50: rank(0.5), p99: rank(0.99) };
  }
}
