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

  /**
   * The median and 99th percentile of the samples (nearest rank), or `null` when there are
   * none. The samples are sorted when a percentile is first read (or the summary is turned into
   * JSON), not here: a contender returns its summary from inside its measured window, and
   * sorting 100,000 samples is the measurement's work, not the contender's.
   */
  summary(): LatencySummary | null {
    return this.size === 0 ? null : new SortedOnRead(this.samples.subarray(0, this.size));
  }
}

/** A {@link LatencySummary} whose samples are sorted on the first read of a percentile. */
class SortedOnRead implements LatencySummary {
  private sorted = false;

  constructor(private readonly samples: Float64Array) {}

  get p50(): number {
    return this.rank(0.5);
  }

  get p99(): number {
    return this.rank(0.99);
  }

  toJSON(): LatencySummary {
    return { p50: this.p50, p99: this.p99 };
  }

  private rank(quantile: number): number {
    if (!this.sorted) {
      this.samples.sort();
      this.sorted = true;
    }
    const { length } = this.samples;
    return this.samples[Math.min(length - 1, Math.ceil(quantile * length) - 1)] as number;
  }
}
