import type { Attributes, Meter, MetricOptions } from '@opentelemetry/api';

/** The running total of one attribute set of an {@link ObservedCounter}. */
export interface CounterTotal {
  readonly attributes: Attributes;
  value: number;
}

/**
 * A monotonic counter whose totals the engine keeps itself, one plain number per attribute
 * set, and reports through an observable counter whenever metrics are collected. The metrics
 * SDK hashes the attributes of every synchronous `add` (sorting the keys and serialising them);
 * the engine counts several times per transaction, so it looks the attribute set up once per
 * run ({@link total}) and then only increments a number. Exported data is the same as a
 * synchronous counter's: a cumulative, monotonic sum per attribute set.
 */
export class ObservedCounter {
  private readonly totals = new Map<string, CounterTotal>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const total of this.totals.values()) result.observe(total.value, total.attributes);
    });
  }

  /** The total of `attributes` (the same object for equal attribute sets); add to its `value`. */
  total(attributes: Attributes): CounterTotal {
    const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
    let total = this.totals.get(key);
    if (total === undefined) {
      total = { attributes, value: 0 };
      this.totals.set(key, total);
    }
    return total;
  }
}
