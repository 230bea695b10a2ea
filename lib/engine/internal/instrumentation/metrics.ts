import {
  createNoopMeter,
  metrics,
  ValueType,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  type Attributes,
  type ObservableResult,
  type MetricOptions,
} from '@opentelemetry/api';
import type { OutcomeStatus } from '../../../core/outcome.js';
import type { Stage } from '../../../core/errors.js';

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
  readonly concurrencyLimit: ObservableGauge;
  readonly circuitTransitions: Counter;
  readonly ratePauses: Counter;
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
    this.concurrencyLimit = meter.createObservableGauge('consumer.concurrency.limit', {
      description: 'Most transactions a consumer run lets in flight now (adaptive or fixed)',
      valueType: ValueType.INT,
    });
    this.circuitTransitions = meter.createCounter('consumer.circuit_breaker.transitions', {
      description: 'State changes of a consumer run circuit breaker, by the state entered',
      valueType: ValueType.INT,
    });
    this.ratePauses = meter.createCounter('consumer.rate_limit.pauses', {
      description: 'Pauses of a consumer run because the downstream said "too many requests"',
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

/** A status's running total and the attributes of its duration. */
interface StatusMeasurements {
  readonly attributes: Attributes;
  readonly total: CounterTotal;
}

/**
 * What one run records on the engine's instruments, with every attribute set built once per
 * run (the metrics SDK keys each measurement by its attributes, so a fresh object per
 * measurement only costs more): `task`, `connector`, and the status, stage, outcome or success
 * of the measurement.
 */
export class RunMetrics {
  private readonly statuses = new Map<OutcomeStatus, StatusMeasurements>();
  private readonly stages = new Map<Stage, StageMetrics>();
  private readonly succeeded: Attributes;
  private readonly failed: Attributes;
  private inFlightCallback: ((result: ObservableResult) => void) | null = null;
  private limitCallback: ((result: ObservableResult) => void) | null = null;

  constructor(
    private readonly instruments: EngineMetrics,
    /** `task` and, when known, `connector`. */
    private readonly attributes: Attributes,
  ) {
    this.succeeded = { ...attributes, success: 'true' };
    this.failed = { ...attributes, success: 'false' };
  }

  /** A transaction ended; `seconds` from the start of its lifecycle, `null` if it had none. */
  transactionEnded(status: OutcomeStatus, seconds: number | null): void {
    let measurements = this.statuses.get(status);
    if (measurements === undefined) {
      const attributes = { ...this.attributes, status };
      measurements = { attributes, total: this.instruments.transactions.total(attributes) };
      this.statuses.set(status, measurements);
    }
    measurements.total.value++;
    if (seconds !== null)
      this.instruments.transactionDuration.record(seconds, measurements.attributes);
  }

  /** The measurements of one lifecycle stage. */
  stage(stage: Stage): StageMetrics {
    let measurements = this.stages.get(stage);
    if (measurements === undefined) {
      measurements = new StageMetrics(this.instruments, { ...this.attributes, stage });
      this.stages.set(stage, measurements);
    }
    return measurements;
  }

  /** A fetch ended after `seconds` (all attempts and backoff), `received` transactions. */
  fetchEnded(ok: boolean, seconds: number, received: number): void {
    const attributes = ok ? this.succeeded : this.failed;
    this.instruments.fetches.add(1, attributes);
    this.instruments.fetchDuration.record(seconds, attributes);
    if (ok && received > 0) this.instruments.fetchSize.record(received, this.attributes);
  }

  /** A non-empty batch was fetched. */
  batchFetched(): void {
    this.instruments.batches.add(1, this.attributes);
  }

  /** A streaming loop found the queue empty and backs off. */
  emptyWait(): void {
    this.instruments.emptyWaits.add(1, this.attributes);
  }

  /** A dispatch of `size` transactions ended (after its retries). */
  dispatchEnded(ok: boolean, size: number): void {
    this.instruments.dispatches.add(1, ok ? this.succeeded : this.failed);
    this.instruments.dispatchSize.record(size, this.attributes);
    if (ok) this.instruments.batches.add(1, this.attributes);
  }

  /** Reports `inFlight()` as the run's in-flight transactions whenever metrics are collected. */
  observeInFlight(inFlight: () => number): void {
    this.inFlightCallback = (result: ObservableResult) =>
      result.observe(inFlight(), this.attributes);
    this.instruments.inFlight.addCallback(this.inFlightCallback);
  }

  /** The run's circuit breaker entered `state` (`open`, `halfOpen`, `closed`). */
  circuitChanged(state: string): void {
    this.instruments.circuitTransitions.add(1, { ...this.attributes, state });
  }

  /** The downstream rate limited the run: a pause started. */
  ratePaused(): void {
    this.instruments.ratePauses.add(1, this.attributes);
  }

  /** Reports `limit()` as the run's concurrency limit whenever metrics are collected. */
  observeConcurrencyLimit(limit: () => number): void {
    this.limitCallback = (result: ObservableResult) => result.observe(limit(), this.attributes);
    this.instruments.concurrencyLimit.addCallback(this.limitCallback);
  }

  /** The run is over: a last 0 in flight at the next collection, then no more observing. */
  end(): void {
    if (this.limitCallback !== null) {
      this.instruments.concurrencyLimit.removeCallback(this.limitCallback);
      this.limitCallback = null;
    }
    if (this.inFlightCallback === null) return;
    const instrument = this.instruments.inFlight;
    instrument.removeCallback(this.inFlightCallback);
    this.inFlightCallback = null;
    const last = (result: ObservableResult): void => {
      result.observe(0, this.attributes);
      queueMicrotask(() => instrument.removeCallback(last));
    };
    instrument.addCallback(last);
  }
}

/** How an attempt ended, as the `outcome` of `*.lifecycle.attempts`. */
export type AttemptOutcome = 'ok' | 'error' | 'cancelled';

/**
 * The measurements of one lifecycle stage of a run (`process`, `success`…), with its
 * attribute sets built once per run: an attempt only increments a number, a stage's end adds
 * one and records its duration with a ready attribute object.
 */
export class StageMetrics {
  private readonly attemptTotals = new Map<AttemptOutcome, CounterTotal>();
  private readonly ok: Attributes;
  private readonly error: Attributes;
  private okTotal: CounterTotal | null = null;
  private errorTotal: CounterTotal | null = null;

  constructor(
    private readonly instruments: EngineMetrics,
    /** The run's attributes plus `stage`. */
    private readonly base: Attributes,
  ) {
    this.ok = { ...base, outcome: 'ok' };
    this.error = { ...base, outcome: 'error' };
  }

  attemptEnded(outcome: AttemptOutcome): void {
    let total = this.attemptTotals.get(outcome);
    if (total === undefined) {
      total = this.instruments.attempts.total({ ...this.base, outcome });
      this.attemptTotals.set(outcome, total);
    }
    total.value++;
  }

  /** The stage ended after `seconds` (all attempts and backoff). */
  ended(ok: boolean, seconds: number): void {
    const attributes = ok ? this.ok : this.error;
    const total = ok
      ? (this.okTotal ??= this.instruments.stageOutcomes.total(attributes))
      : (this.errorTotal ??= this.instruments.stageOutcomes.total(attributes));
    total.value++;
    this.instruments.stageDuration.record(seconds, attributes);
  }
}

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
