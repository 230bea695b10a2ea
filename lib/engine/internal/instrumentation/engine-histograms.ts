import type { Attributes, ValueType } from '@opentelemetry/api';

/** What a histogram of the engine is: its instrument's name, description, unit and buckets. */
export interface HistogramDefinition {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly valueType: ValueType;
  /** Explicit bucket boundaries, ascending (each bucket includes its upper boundary). */
  readonly boundaries: readonly number[];
}

/**
 * The aggregate of one attribute set of one histogram, kept the way the metrics SDK's
 * explicit-bucket aggregation keeps it (count, sum, min, max, a count per bucket, NaN
 * ignored), so reporting it gives the data a synchronous histogram would have exported.
 */
export class HistogramCell {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  readonly counts: number[];
  /** Something (NaN included) was recorded since the start: the SDK reports such a point. */
  touched = false;
  /** Start of what the cell holds, in epoch milliseconds. */
  startTime: number;

  constructor(
    readonly definition: HistogramDefinition,
    readonly attributes: Attributes,
  ) {
    this.counts = new Array<number>(definition.boundaries.length + 1).fill(0);
    this.startTime = Date.now();
  }

  record(value: number): void {
    this.touched = true;
    if (Number.isNaN(value)) return;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const boundaries = this.definition.boundaries;
    let bucket = 0;
    while (bucket < boundaries.length && (boundaries[bucket] as number) < value) bucket++;
    (this.counts[bucket] as number)++;
  }

  /** Starts a new interval (delta temporality): empty, starting `at` (epoch ms). */
  reset(at: number): void {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.counts.fill(0);
    this.touched = false;
    this.startTime = at;
  }
}

/**
 * The histograms one metric producer reports: a cell per histogram and attribute set, looked
 * up once per run and attribute set (never per measurement).
 */
export class HistogramStore {
  private readonly cells = new Map<string, HistogramCell>();

  /** The cell of `definition` for `attributes` (the same cell for equal attribute sets). */
  cell(definition: HistogramDefinition, attributes: Attributes): HistogramCell {
    const key = `${definition.name}\u0000${attributeKey(attributes)}`;
    let cell = this.cells.get(key);
    if (cell === undefined) {
      cell = new HistogramCell(definition, attributes);
      this.cells.set(key, cell);
    }
    return cell;
  }

  /** Every cell, in the order they were first used. */
  all(): IterableIterator<HistogramCell> {
    return this.cells.values();
  }
}

/** A stable key of an attribute set (key order does not matter). */
export function attributeKey(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const open = new Set<HistogramStore>();

/**
 * Where the engine's histograms go. While an engine metric producer is open (`setupTelemetry`
 * opens one per metric reader), runs that start aggregate their histograms in the producers'
 * stores (a few additions per measurement) and the producers report them when a reader
 * collects; with none open, runs record through the API's histograms, which the metrics SDK
 * aggregates itself (hashing the attributes of every measurement).
 */
export const histogramStores = {
  /** Opens a store; the engine writes into it until {@link close}. */
  open(): HistogramStore {
    const store = new HistogramStore();
    open.add(store);
    return store;
  },
  close(store: HistogramStore): void {
    open.delete(store);
  },
  /** The stores open now (a run takes them at its start). */
  current(): readonly HistogramStore[] {
    return [...open];
  },
};
