import type { Attributes, ObservableResult } from '@opentelemetry/api';
import type { OutcomeStatus } from '../../core/outcome.js';
import type { Stage } from '../../core/errors.js';
import type { EngineMetrics } from './engine-metrics.js';
import type { CounterTotal } from './observed-counter.js';
import { StageMetrics } from './stage-metrics.js';

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

  /** The run is over: a last 0 in flight at the next collection, then no more observing. */
  end(): void {
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
