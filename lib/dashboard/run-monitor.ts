import {
  from,
  interval,
  Subject,
  take,
  timeout,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { Connector, ConnectorHealth } from '../core/connector.js';
import type { Stage } from '../core/errors.js';
import type { Outcome, OutcomeStatus } from '../core/outcome.js';
import { describeError, describeErrorType } from '../core/renderers.js';
import { readProperty, unreadable } from '../core/safe-access.js';
import type {
  DashboardConnector,
  DashboardFailure,
  DashboardProblem,
  DashboardSample,
  DashboardStatus,
  DashboardWorker,
  LatencyPercentiles,
  StatusCounts,
} from './dashboard-api.js';
import type { DashboardSettings } from './dashboard-config.js';
import {
  type BreakerState,
  bucketQuantile,
  DashboardMetricReader,
  readMetrics,
  type MetricsReading,
} from '../telemetry/metrics-reading.js';
import { FailureTraceProcessor } from '../telemetry/failure-traces.js';

/** What the runner tells the monitor about the run. */
export interface MonitorSources {
  readonly task: string;
  readonly mode: 'single' | 'pool';
  /** `starting`, `running`, `stopping`, `closing`. */
  readonly phase: () => string;
  /** In flight as the connectors count it (used when no metrics reach the dashboard). */
  readonly inFlight: () => number;
  readonly health: () => {
    readonly alive: boolean;
    readonly ready: boolean;
    readonly problems: readonly DashboardProblem[];
  };
  /** What each connector's `health()` said last. */
  readonly connectorHealth?: () => ReadonlyMap<string, ConnectorHealth | undefined>;
  /** The workers of a pool (the primary's view). */
  readonly workers?: () => readonly DashboardWorker[];
  /**
   * Where the numbers come from instead of the dashboard's metric reader: the primary of a
   * pool sums its workers' heartbeats (no latency, limit or breaker there).
   */
  readonly read?: () => MetricsReading;
}

/** What `/api/events` streams: a status each second with its new sample, and each failure. */
export type DashboardEvent =
  | { readonly type: 'status'; readonly data: DashboardStatus }
  | { readonly type: 'failure'; readonly data: DashboardFailure };

/** How often queue depths are asked (`count()` may be a query on the broker). */
const DEPTH_INTERVAL = 5_000;
/** Samples the chart's percentiles cover (a trailing window, so the lines are readable). */
const PERCENTILE_SPAN = 10;
/** Samples the status's rate, percentiles and pauses cover: the last minute. */
const MINUTE = 60;

const noCounts: StatusCounts = Object.freeze({
  success: 0,
  exception: 0,
  failed: 0,
  timeout: 0,
  released: 0,
});

/** A sample with its counts since the one before, for sums over several. */
interface KeptSample extends DashboardSample {
  /** Transactions ended since the sample before. */
  readonly ended: number;
  /** Milliseconds since the sample before. */
  readonly span: number;
  readonly buckets: readonly number[] | null;
  readonly pauses: number | null;
}

/**
 * What the dashboard shows, kept up to date once a second: it collects the engine's metrics
 * from its own reader (added to the task's meter provider), turns the cumulative totals into
 * per-second points (throughput by status, latency percentiles interpolated from the duration
 * histogram as `histogram_quantile` does, in flight, concurrency limit, breaker state,
 * rate-limit pauses), asks each connector's `count()` every 5 s, and keeps the last failures
 * (from the run's outcomes, with the trace id of their span). Time goes through `scheduler`.
 *
 * @example
 * ```ts
 * const monitor = new RunMonitor(settings, sources);
 * setupTelemetry({ metrics: { readers: [monitor.reader] } }, { spanProcessors: [monitor.traces] });
 * monitor.start();
 * ```
 */
export class RunMonitor {
  /** Add to the meter provider's readers. */
  readonly reader = new DashboardMetricReader();
  /** Add to the tracer provider's span processors. */
  readonly traces = new FailureTraceProcessor();
  private readonly events = new Subject<DashboardEvent>();
  private readonly samples: KeptSample[] = [];
  private readonly kept: DashboardFailure[] = [];
  private readonly connectors: { readonly name: string; readonly connector: Connector }[] = [];
  private readonly depths = new Map<string, { depth: number | null; error?: string }>();
  private readonly pendingDepth = new Map<string, Subscription>();
  private readonly subscriptions: Subscription[] = [];
  private previous: MetricsReading | null = null;
  private breaker: BreakerState | null = null;
  private metricsReach = true;
  private collecting = false;
  private startedAt = 0;
  private stopped = false;

  constructor(
    private readonly settings: DashboardSettings,
    private readonly sources: MonitorSources,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** A status each second, and each failure as it happens; completes on {@link stop}. */
  get events$(): Observable<DashboardEvent> {
    return this.events.asObservable();
  }

  /** Asks `connector.count()` for the queue depth (a connector without one is listed only). */
  watchConnector(name: string, connector: Connector): void {
    this.connectors.push({ name, connector });
    if (this.subscriptions.length > 0) this.askDepth(name, connector);
  }

  /** Starts sampling. */
  start(): void {
    if (this.subscriptions.length > 0 || this.stopped) return;
    this.startedAt = this.scheduler.now();
    this.subscriptions.push(
      interval(1_000, this.scheduler).subscribe(() => this.tick()),
      interval(DEPTH_INTERVAL, this.scheduler).subscribe(() => {
        for (const { name, connector } of this.connectors) this.askDepth(name, connector);
      }),
    );
    for (const { name, connector } of this.connectors) this.askDepth(name, connector);
  }

  /** Stops sampling; `events$` completes. */
  stop(): void {
    this.stopped = true;
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    for (const subscription of this.pendingDepth.values()) subscription.unsubscribe();
    this.pendingDepth.clear();
    this.events.complete();
  }

  /** An outcome of the run: a failure joins the list (with its span's trace id). */
  record(outcome: Outcome): void {
    if (outcome.status === 'success' || outcome.status === 'released') {
      return;
    }
    const error =
      outcome.status === 'exception' ? outcome.error : (outcome.handlerError ?? outcome.error);
    const traceId = this.traces.take(outcome.transaction.id);
    const failure: DashboardFailure = {
      at: this.scheduler.now(),
      transactionId: outcome.transaction.id,
      status: outcome.status,
      deadLettered:
        outcome.status === 'failed' || (outcome.status === 'timeout' && !outcome.handled),
      stage: stageOf(error),
      errorType: describeErrorType(causeOf(error)),
      error: describeError(error),
      traceId,
      traceUrl:
        traceId === null || this.settings.traceLink === undefined
          ? null
          : this.settings.traceLink.replaceAll('{traceId}', traceId),
      actions: [],
    };
    this.kept.unshift(failure);
    if (this.kept.length > this.settings.failures) this.kept.length = this.settings.failures;
    this.events.next({ type: 'failure', data: failure });
  }

  /** The last failures, newest first. */
  failures(): readonly DashboardFailure[] {
    return [...this.kept];
  }

  /** The status now; `series: false` leaves the chart points out (the events carry one each). */
  status(series = true): DashboardStatus {
    const last = this.samples[this.samples.length - 1];
    const minute = this.samples.slice(-MINUTE);
    const endedInMinute = minute.reduce((sum, sample) => sum + sample.ended, 0);
    const minuteSpan = minute.reduce((sum, sample) => sum + sample.span, 0);
    const first = minute[0];
    const pausesFirst = first === undefined ? null : first.pauses;
    const pausesLast = last === undefined ? null : last.pauses;
    const health = this.sources.health();
    const connectorHealth = this.sources.connectorHealth?.() ?? new Map();
    return {
      task: this.sources.task,
      mode: this.sources.mode,
      phase: this.sources.phase(),
      startedAt: this.startedAt,
      now: this.scheduler.now(),
      totals: this.totals(),
      ratePerSecond: minuteSpan <= 0 ? 0 : (round((endedInMinute * 1_000) / minuteSpan) ?? 0),
      latency: this.percentiles(minute),
      inFlight: last?.inFlight ?? this.sources.inFlight(),
      limit: last?.limit ?? null,
      breaker: this.breaker,
      rateLimitPauses:
        pausesLast === null ? null : pausesLast - (pausesFirst === null ? 0 : pausesFirst),
      connectors: this.connectors.map(({ name }) =>
        connectorView(name, this.depths, connectorHealth),
      ),
      workers: this.sources.workers?.() ?? null,
      health: { alive: health.alive, ready: health.ready, problems: health.problems },
      metrics: this.metricsReach,
      series: series
        ? this.samples.map(publicSample)
        : last === undefined
          ? []
          : [publicSample(last)],
    };
  }

  private totals(): StatusCounts {
    const ended = this.previous?.ended;
    if (ended === undefined) return noCounts;
    return countsOf((status) => ended.get(status) ?? 0);
  }

  private percentiles(samples: readonly KeptSample[]): LatencyPercentiles {
    const reading = this.previous?.durations;
    if (reading === undefined || reading === null) return { p50: null, p90: null, p99: null };
    const counts = reading.counts.map(() => 0);
    for (const sample of samples) {
      sample.buckets?.forEach((count, i) => (counts[i] = (counts[i] ?? 0) + count));
    }
    return {
      p50: round(bucketQuantile(reading.boundaries, counts, 0.5)),
      p90: round(bucketQuantile(reading.boundaries, counts, 0.9)),
      p99: round(bucketQuantile(reading.boundaries, counts, 0.99)),
    };
  }

  private tick(): void {
    if (this.collecting) return;
    this.collecting = true;
    const read = this.sources.read;
    const collected =
      read === undefined
        ? this.reader.collect().then(({ resourceMetrics }) => readMetrics(resourceMetrics))
        : Promise.resolve().then(read);
    collected.then(
      (reading) => {
        this.collecting = false;
        if (this.stopped) return;
        this.metricsReach = true;
        this.addSample(reading);
      },
      () => {
        // No meter provider took the reader (the application registered its own SDK).
        this.collecting = false;
        if (this.stopped) return;
        this.metricsReach = false;
        this.addSample(null);
      },
    );
  }

  private addSample(reading: MetricsReading | null): void {
    const before = this.previous;
    if (reading !== null) this.previous = reading;
    const at = this.scheduler.now();
    const span = Math.max(1, at - (this.samples[this.samples.length - 1]?.at ?? this.startedAt));
    const ended = countsOf((status) =>
      reading === null ? 0 : (reading.ended.get(status) ?? 0) - (before?.ended.get(status) ?? 0),
    );
    const rates = countsOf((status) => Math.round((ended[status] * 10_000) / span) / 10);
    let buckets: number[] | null = null;
    if (reading?.durations != null) {
      const earlier = before?.durations?.counts;
      buckets = reading.durations.counts.map((count, i) => count - (earlier?.[i] ?? 0));
    }
    if (reading !== null) this.breaker = breakerState(reading, before, this.breaker);
    const partial: KeptSample = {
      at,
      rates,
      ended: total(ended),
      span,
      inFlight: reading?.inFlight ?? this.sources.inFlight(),
      limit: reading?.limit ?? null,
      p50: null,
      p90: null,
      p99: null,
      buckets,
      pauses: reading?.rateLimitPauses ?? null,
    };
    this.samples.push(partial);
    const keep = Math.max(1, Math.ceil(this.settings.window / 1_000));
    if (this.samples.length > keep) this.samples.splice(0, this.samples.length - keep);
    const latency = this.percentiles(this.samples.slice(-PERCENTILE_SPAN));
    this.samples[this.samples.length - 1] = { ...partial, ...latency };
    this.events.next({ type: 'status', data: this.status(false) });
  }

  private askDepth(name: string, connector: Connector): void {
    if (typeof connector.count !== 'function' || this.pendingDepth.has(name)) return;
    let answer: Observable<number>;
    try {
      answer = from((connector.count as () => ObservableInput<number>)());
    } catch (error) {
      this.depths.set(name, { depth: null, error: describeError(error) });
      return;
    }
    let done = false;
    const subscription = answer
      .pipe(take(1), timeout({ first: DEPTH_INTERVAL, scheduler: this.scheduler }))
      .subscribe({
        next: (depth) => this.depths.set(name, { depth }),
        error: (error: unknown) => {
          done = true;
          this.pendingDepth.delete(name);
          this.depths.set(name, { depth: null, error: describeError(error) });
        },
        complete: () => {
          done = true;
          this.pendingDepth.delete(name);
        },
      });
    if (!done) this.pendingDepth.set(name, subscription);
  }
}

function countsOf(count: (status: OutcomeStatus) => number): StatusCounts {
  return {
    success: count('success'),
    exception: count('exception'),
    failed: count('failed'),
    timeout: count('timeout'),
    released: count('released'),
  };
}

function total(counts: StatusCounts): number {
  return counts.success + counts.exception + counts.failed + counts.timeout + counts.released;
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

function publicSample(sample: KeptSample): DashboardSample {
  const { at, rates, inFlight, limit, p50, p90, p99 } = sample;
  return { at, rates, inFlight, limit, p50, p90, p99 };
}

function connectorView(
  name: string,
  depths: ReadonlyMap<string, { depth: number | null; error?: string }>,
  health: ReadonlyMap<string, ConnectorHealth | undefined>,
): DashboardConnector {
  const depth = depths.get(name);
  const said = health.get(name);
  return {
    name,
    depth: depth?.depth ?? null,
    ...(depth?.error === undefined ? {} : { depthError: depth.error }),
    healthy: said === undefined ? null : said.healthy,
    ...(said === undefined ? {} : { state: said.state }),
    ...(said?.detail === undefined ? {} : { detail: said.detail }),
  };
}

/**
 * The breaker's state from the totals of `consumer.circuit_breaker.transitions`: a breaker
 * goes closed → open → halfOpen → closed or open again, so it is open when it entered open
 * once more than half-open; otherwise half-open or closed, told apart by what moved last.
 * `null` until a breaker changed state.
 */
function breakerState(
  now: MetricsReading,
  before: MetricsReading | null,
  previous: BreakerState | null,
): BreakerState | null {
  const count = (reading: MetricsReading | null, state: BreakerState): number =>
    reading?.breakerTransitions.get(state) ?? 0;
  const opened = count(now, 'open');
  if (opened === 0) return previous;
  if (opened > count(now, 'halfOpen')) return 'open';
  const closedMoves = count(now, 'closed') - count(before, 'closed');
  const halfOpenMoves = count(now, 'halfOpen') - count(before, 'halfOpen');
  if (closedMoves > 0 && halfOpenMoves <= closedMoves) return 'closed';
  if (halfOpenMoves > 0) return 'halfOpen';
  return previous === 'open' ? 'halfOpen' : previous;
}

const stages: readonly unknown[] = [
  'process',
  'success',
  'exception',
  'prepare',
  'dispatch',
  'fetch',
  'decode',
  'key',
  'attempt',
] satisfies readonly Stage[];

/**
 * The stage a `TransactionError` names, read by shape rather than `instanceof` (another copy
 * of ergon-rx, or a module loaded twice, makes errors of its own class).
 */
function stageOf(error: unknown): Stage | null {
  const stage = readProperty(error, 'stage');
  return stages.includes(stage) ? (stage as Stage) : null;
}

/** What a `TransactionError` wraps (by shape, as {@link stageOf}), else the error itself. */
function causeOf(error: unknown): unknown {
  if (stageOf(error) === null) return error;
  const cause = readProperty(error, 'cause');
  return cause === undefined || cause === unreadable ? error : cause;
}
