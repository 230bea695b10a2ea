import { millisToHrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import {
  histogramStores,
  type HistogramCell,
  type HistogramStore,
} from '../engine/internal/instrumentation/engine-histograms.js';

/** Options of an {@link EngineMetricProducer}. */
export interface EngineMetricProducerOptions {
  /**
   * The temporality of the reader it is given to (default cumulative, as the Prometheus and
   * console readers and the OTLP exporter's default use). Delta reports what was recorded
   * since the previous collection.
   */
  readonly temporality?: AggregationTemporality;
}

/**
 * Reports the engine's histograms (`*.transactions.duration`, `*.lifecycle.duration`,
 * `consumer.fetch.duration`, `consumer.fetch.batch_size`, `dispatch.batch_size`) to the metric
 * reader it is given to, from aggregates the engine keeps itself: while one is open, a
 * measurement costs the engine a few additions instead of a metrics SDK `record` (which hashes
 * the measurement's attributes every time). The data is what the SDK's own explicit-bucket
 * histograms export: same names, descriptions, units, attributes, buckets, counts, sums,
 * minima and maxima, under the same `ergon.task` scope. Runs started while it is open use it.
 *
 * `setupTelemetry` gives one to each metric reader it builds; give one to each reader of your
 * own, and close it when you shut the meter provider down. Views configured on the meter
 * provider do not apply to what it reports.
 *
 * @example
 * ```ts
 * const producer = new EngineMetricProducer();
 * const meterProvider = new MeterProvider({
 *   readers: [new PeriodicExportingMetricReader({ exporter, metricProducers: [producer] })],
 * });
 * metrics.setGlobalMeterProvider(meterProvider);
 * // … run tasks …
 * await meterProvider.shutdown();
 * producer.close();
 * ```
 */
export class EngineMetricProducer implements MetricProducer {
  private store: HistogramStore | null;
  private readonly temporality: AggregationTemporality;

  constructor(options: EngineMetricProducerOptions = {}) {
    this.temporality = options.temporality ?? AggregationTemporality.CUMULATIVE;
    this.store = histogramStores.open();
  }

  collect(): Promise<CollectionResult> {
    const now = Date.now();
    const byName = new Map<string, HistogramMetricData>();
    const delta = this.temporality === AggregationTemporality.DELTA;
    for (const cell of this.store?.all() ?? []) {
      if (!cell.touched) continue;
      const { name, description, unit, valueType } = cell.definition;
      let metric = byName.get(name);
      if (metric === undefined) {
        metric = {
          descriptor: { name, description, unit, valueType },
          aggregationTemporality: this.temporality,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: [],
        };
        byName.set(name, metric);
      }
      metric.dataPoints.push(dataPoint(cell, now));
      if (delta) cell.reset(now);
    }
    const metrics = [...byName.values()];
    return Promise.resolve({
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: 'ergon.task' }, metrics }],
      },
      errors: [],
    });
  }

  /** Stops taking the engine's histograms (runs started afterwards record through the API). */
  close(): void {
    if (this.store === null) return;
    histogramStores.close(this.store);
    this.store = null;
  }
}

function dataPoint(cell: HistogramCell, now: number): HistogramMetricData['dataPoints'][number] {
  return {
    attributes: cell.attributes,
    startTime: millisToHrTime(cell.startTime),
    endTime: millisToHrTime(now),
    value: {
      min: cell.count === 0 ? undefined : cell.min,
      max: cell.count === 0 ? undefined : cell.max,
      sum: cell.sum,
      buckets: { boundaries: [...cell.definition.boundaries], counts: [...cell.counts] },
      count: cell.count,
    },
  };
}
