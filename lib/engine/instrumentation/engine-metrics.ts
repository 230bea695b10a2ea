import {
  createNoopMeter,
  metrics,
  ValueType,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import { ObservedCounter } from './observed-counter.js';

/** Histogram buckets in seconds for stage and transaction durations (OTel messaging advice). */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The instruments of each meter (a meter provider replaced later gets its own). */
const registered = new WeakMap<Meter, Map<'consumer' | 'producer', EngineMetrics>>();

/**
 * The engine's instruments on the `ergon.task` meter, named as in the Python reference so
 * dashboards carry over. Attributes stay low-cardinality: task, status, stage, outcome,
 * connector system and booleans, never ids, counters or sizes. The counters that move with
 * every transaction or attempt are {@link ObservedCounter}s; those that move once per fetch or
 * batch are plain counters.
 *
 * One set per meter and kind, shared by every run, so the observed totals keep counting
 * across runs as a counter does.
 */
export class EngineMetrics {
  /** The instruments of the registered meter provider, or `null` when none is registered. */
  static registered(kind: 'consumer' | 'producer'): EngineMetrics | null {
    const meter = metrics.getMeter('ergon.task');
    if (meter === createNoopMeter()) return null;
    let kinds = registered.get(meter);
    if (kinds === undefined) {
      kinds = new Map();
      registered.set(meter, kinds);
    }
    let instruments = kinds.get(kind);
    if (instruments === undefined) {
      instruments = new EngineMetrics(meter, kind);
      kinds.set(kind, instruments);
    }
    return instruments;
  }

  readonly transactions: ObservedCounter;
  readonly transactionDuration: Histogram;
  /** Read from the run's pool when metrics are collected: no work per transaction. */
  readonly inFlight: ObservableUpDownCounter;
  readonly fetches: Counter;
  readonly fetchDuration: Histogram;
  readonly fetchSize: Histogram;
  readonly emptyWaits: Counter;
  readonly batches: Counter;
  readonly stageDuration: Histogram;
  readonly stageOutcomes: ObservedCounter;
  readonly attempts: ObservedCounter;
  readonly dispatches: Counter;
  readonly dispatchSize: Histogram;

  private constructor(meter: Meter, kind: 'consumer' | 'producer') {
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: durationBuckets } };
    this.transactions = new ObservedCounter(meter, `${kind}.transactions.total`, {
      description: 'Transactions that finished, by status',
      valueType: ValueType.INT,
    });
    this.transactionDuration = meter.createHistogram(`${kind}.transactions.duration`, {
      description: 'Time from the start of a lifecycle to its settlement',
      ...seconds,
    });
    this.inFlight = meter.createObservableUpDownCounter(`${kind}.transactions.in_flight`, {
      description: 'Transactions started and not settled yet',
      valueType: ValueType.INT,
    });
    this.fetches = meter.createCounter('consumer.fetch.total', {
      description: 'Fetches, after every retry, by success',
      valueType: ValueType.INT,
    });
    this.fetchDuration = meter.createHistogram('consumer.fetch.duration', {
      description: 'Time of a fetch including its retries',
      ...seconds,
    });
    this.fetchSize = meter.createHistogram('consumer.fetch.batch_size', {
      description: 'Transactions returned by a non-empty fetch',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
    });
    this.emptyWaits = meter.createCounter('consumer.empty_queue.waits', {
      description: 'Empty fetches of a streaming loop followed by a backoff',
      valueType: ValueType.INT,
    });
    this.batches = meter.createCounter(`${kind}.batches.total`, {
      description: 'Non-empty batches fetched (consumer) or dispatched (producer)',
      valueType: ValueType.INT,
    });
    this.stageDuration = meter.createHistogram(`${kind}.lifecycle.duration`, {
      description: 'Time of one lifecycle stage including its retries and backoff',
      ...seconds,
    });
    this.stageOutcomes = new ObservedCounter(meter, `${kind}.lifecycle.outcome`, {
      description: 'Lifecycle stages by stage and outcome (ok or error)',
      valueType: ValueType.INT,
    });
    this.attempts = new ObservedCounter(meter, `${kind}.lifecycle.attempts`, {
      description: 'Handler attempts by stage and outcome (ok or error)',
      valueType: ValueType.INT,
    });
    this.dispatches = meter.createCounter('dispatch.batches.total', {
      description: 'Dispatched batches by success',
      valueType: ValueType.INT,
    });
    this.dispatchSize = meter.createHistogram('dispatch.batch_size', {
      description: 'Transactions per dispatched batch',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
    });
  }
}
