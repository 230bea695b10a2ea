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
import {
  attributeKey,
  histogramStores,
  type HistogramDefinition,
  type HistogramStore,
} from './engine-histograms.js';

/** Histogram buckets in seconds for stage and transaction durations (OTel messaging advice). */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Histogram buckets for batch sizes. */
const sizeBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** Where one run records one attribute set of a histogram. */
interface HistogramSeries {
  record(value: number): void;
}

/**
 * One of the engine's histograms: recorded through the API's histogram (created on first
 * use), or aggregated in the open histogram stores (see `histogramStores`), as each run
 * decides at its start.
 */
class EngineHistogram {
  private instrument: Histogram | null = null;

  constructor(
    private readonly meter: Meter,
    readonly definition: HistogramDefinition,
  ) {}

  /** Where a run that took `stores` at its start records `attributes`. */
  series(stores: readonly HistogramStore[], attributes: Attributes): HistogramSeries {
    if (stores.length === 1) return (stores[0] as HistogramStore).cell(this.definition, attributes);
    if (stores.length > 1) {
      const cells = stores.map((store) => store.cell(this.definition, attributes));
      return { record: (value) => cells.forEach((cell) => cell.record(value)) };
    }
    const { name, description, unit, valueType, boundaries } = this.definition;
    const instrument = (this.instrument ??= this.meter.createHistogram(name, {
      description,
      unit,
      valueType,
      advice: { explicitBucketBoundaries: [...boundaries] },
    }));
    return { record: (value) => instrument.record(value, attributes) };
  }
}

/** The instruments of each meter (a meter provider replaced later gets its own). */
const registered = new WeakMap<Meter, Map<'consumer' | 'producer', EngineMetrics>>();

/**
 * The engine's instruments on the `ergon.task` meter, named as in the Python reference so
 * dashboards carry over. Attributes stay low-cardinality: task, status, stage, outcome,
 * connector system and booleans, never ids, counters or sizes. The counters that move with
 * every transaction, attempt, fetch or batch are {@link ObservedCounter}s; only the rare
 * circuit-breaker transitions use a plain counter.
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
  readonly transactionDuration: EngineHistogram;
  /** Read from the run's pool when metrics are collected: no work per transaction. */
  readonly inFlight: ObservableUpDownCounter;
  readonly concurrencyLimit: ObservableGauge;
  readonly circuitTransitions: Counter;
  readonly ratePauses: Counter;
  readonly fetches: ObservedCounter;
  readonly fetchDuration: EngineHistogram;
  readonly fetchSize: EngineHistogram;
  readonly emptyWaits: ObservedCounter;
  readonly batches: ObservedCounter;
  readonly stageDuration: EngineHistogram;
  readonly stageOutcomes: ObservedCounter;
  readonly attempts: ObservedCounter;
  readonly dispatches: ObservedCounter;
  readonly dispatchSize: EngineHistogram;

  private constructor(meter: Meter, kind: 'consumer' | 'producer') {
    const seconds = { unit: 's', valueType: ValueType.DOUBLE, boundaries: durationBuckets };
    const sizes = { unit: '', valueType: ValueType.INT, boundaries: sizeBuckets };
    this.transactions = new ObservedCounter(meter, `${kind}.transactions.total`, {
      description: 'Transactions that finished, by status',
      valueType: ValueType.INT,
    });
    this.transactionDuration = new EngineHistogram(meter, {
      name: `${kind}.transactions.duration`,
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
    this.fetches = new ObservedCounter(meter, 'consumer.fetch.total', {
      description: 'Fetches, after every retry, by success',
      valueType: ValueType.INT,
    });
    this.fetchDuration = new EngineHistogram(meter, {
      name: 'consumer.fetch.duration',
      description: 'Time of a fetch including its retries',
      ...seconds,
    });
    this.fetchSize = new EngineHistogram(meter, {
      name: 'consumer.fetch.batch_size',
      description: 'Transactions returned by a non-empty fetch',
      ...sizes,
    });
    this.emptyWaits = new ObservedCounter(meter, 'consumer.empty_queue.waits', {
      description: 'Empty fetches of a streaming loop followed by a backoff',
      valueType: ValueType.INT,
    });
    this.batches = new ObservedCounter(meter, `${kind}.batches.total`, {
      description: 'Non-empty batches fetched (consumer) or dispatched (producer)',
      valueType: ValueType.INT,
    });
    this.stageDuration = new EngineHistogram(meter, {
      name: `${kind}.lifecycle.duration`,
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
    this.dispatches = new ObservedCounter(meter, 'dispatch.batches.total', {
      description: 'Dispatched batches by success',
      valueType: ValueType.INT,
    });
    this.dispatchSize = new EngineHistogram(meter, {
      name: 'dispatch.batch_size',
      description: 'Transactions per dispatched batch',
      ...sizes,
    });
  }
}

/** The counters a run moves once per fetch or batch. */
type RunCounter =
  'fetchesOk' | 'fetchesFailed' | 'batches' | 'emptyWaits' | 'dispatchesOk' | 'dispatchesFailed';

/** A status's running total and where its durations go. */
interface StatusMeasurements {
  readonly total: CounterTotal;
  readonly duration: HistogramSeries;
}

/**
 * What one run records on the engine's instruments, with every attribute set built and looked
 * up once per run (the metrics SDK keys each measurement by its attributes, hashing them on
 * every synchronous `add` or `record`): `task`, `connector`, and the status, stage, outcome or
 * success of the measurement. Counters only increment a number the engine keeps; histograms
 * go to the open histogram stores, taken at the start of the run (see `histogramStores`), or,
 * with none open, through the API.
 */
export class RunMetrics {
  private readonly statuses = new Map<OutcomeStatus, StatusMeasurements>();
  private readonly stages = new Map<Stage, StageMetrics>();
  private readonly succeeded: Attributes;
  private readonly failed: Attributes;
  private readonly stores: readonly HistogramStore[];
  private fetchSeries: {
    readonly ok: HistogramSeries;
    readonly failed: HistogramSeries;
    readonly size: HistogramSeries;
  } | null = null;
  private dispatchSizes: HistogramSeries | null = null;
  private readonly counterTotals = new Map<RunCounter, CounterTotal>();
  private inFlightCallback: ((result: ObservableResult) => void) | null = null;
  private limitCallback: ((result: ObservableResult) => void) | null = null;

  constructor(
    private readonly instruments: EngineMetrics,
    /** `task` and, when known, `connector`. */
    private readonly attributes: Attributes,
  ) {
    this.succeeded = { ...attributes, success: 'true' };
    this.failed = { ...attributes, success: 'false' };
    this.stores = histogramStores.current();
  }

  /** A transaction ended; `seconds` from the start of its lifecycle, `null` if it had none. */
  transactionEnded(status: OutcomeStatus, seconds: number | null): void {
    let measurements = this.statuses.get(status);
    if (measurements === undefined) {
      const attributes = { ...this.attributes, status };
      measurements = {
        total: this.instruments.transactions.total(attributes),
        duration: this.instruments.transactionDuration.series(this.stores, attributes),
      };
      this.statuses.set(status, measurements);
    }
    measurements.total.value++;
    if (seconds !== null) measurements.duration.record(seconds);
  }

  /** The measurements of one lifecycle stage. */
  stage(stage: Stage): StageMetrics {
    let measurements = this.stages.get(stage);
    if (measurements === undefined) {
      measurements = new StageMetrics(this.instruments, this.stores, {
        ...this.attributes,
        stage,
      });
      this.stages.set(stage, measurements);
    }
    return measurements;
  }

  /** A fetch ended after `seconds` (all attempts and backoff), `received` transactions. */
  fetchEnded(ok: boolean, seconds: number, received: number): void {
    this.totals(ok ? 'fetchesOk' : 'fetchesFailed').value++;
    const series = (this.fetchSeries ??= {
      ok: this.instruments.fetchDuration.series(this.stores, this.succeeded),
      failed: this.instruments.fetchDuration.series(this.stores, this.failed),
      size: this.instruments.fetchSize.series(this.stores, this.attributes),
    });
    (ok ? series.ok : series.failed).record(seconds);
    if (ok && received > 0) series.size.record(received);
  }

  /** A non-empty batch was fetched. */
  batchFetched(): void {
    this.totals('batches').value++;
  }

  /** A streaming loop found the queue empty and backs off. */
  emptyWait(): void {
    this.totals('emptyWaits').value++;
  }

  /** A dispatch of `size` transactions ended (after its retries). */
  dispatchEnded(ok: boolean, size: number): void {
    this.totals(ok ? 'dispatchesOk' : 'dispatchesFailed').value++;
    (this.dispatchSizes ??= this.instruments.dispatchSize.series(
      this.stores,
      this.attributes,
    )).record(size);
    if (ok) this.totals('batches').value++;
  }

  /** The running total of one of the run's per-fetch or per-batch counters. */
  private totals(which: RunCounter): CounterTotal {
    let total = this.counterTotals.get(which);
    if (total === undefined) {
      const instruments = this.instruments;
      total = {
        fetchesOk: () => instruments.fetches.total(this.succeeded),
        fetchesFailed: () => instruments.fetches.total(this.failed),
        batches: () => instruments.batches.total(this.attributes),
        emptyWaits: () => instruments.emptyWaits.total(this.attributes),
        dispatchesOk: () => instruments.dispatches.total(this.succeeded),
        dispatchesFailed: () => instruments.dispatches.total(this.failed),
      }[which]();
      this.counterTotals.set(which, total);
    }
    return total;
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
 * attribute sets looked up once per run: an attempt only increments a number, a stage's end
 * increments one and records its duration.
 */
export class StageMetrics {
  private readonly attemptTotals = new Map<AttemptOutcome, CounterTotal>();
  private ok: { readonly total: CounterTotal; readonly duration: HistogramSeries } | null = null;
  private error: { readonly total: CounterTotal; readonly duration: HistogramSeries } | null = null;

  constructor(
    private readonly instruments: EngineMetrics,
    private readonly stores: readonly HistogramStore[],
    /** The run's attributes plus `stage`. */
    private readonly base: Attributes,
  ) {}

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
    const measurements = ok
      ? (this.ok ??= this.measurements('ok'))
      : (this.error ??= this.measurements('error'));
    measurements.total.value++;
    measurements.duration.record(seconds);
  }

  private measurements(outcome: 'ok' | 'error') {
    const attributes = { ...this.base, outcome };
    return {
      total: this.instruments.stageOutcomes.total(attributes),
      duration: this.instruments.stageDuration.series(this.stores, attributes),
    };
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
    const key = attributeKey(attributes);
    let total = this.totals.get(key);
    if (total === undefined) {
      total = { attributes, value: 0 };
      this.totals.set(key, total);
    }
    return total;
  }
}
