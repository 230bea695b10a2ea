import {
  metrics,
  type Counter,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import {
  from,
  interval,
  take,
  timeout,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { Connector, ConnectorHealth } from '../../core/connector.js';
import type { Logger } from '../../core/logging.js';
import { describeError } from '../../core/renderers.js';
import type { RunActivity } from './worker-liveness.js';

/**
 * What the run's watchdog found wrong:
 * - `startup`: connectors and services are still being created after `startupGrace` (a connect
 *   or an `init` that does not return);
 * - `processing`: transactions in flight and no progress for `stalledAfter`;
 * - `fetch`: a fetch under way for `stalledAfter` with nothing in flight;
 * - `poll`: no fetch started for `stalledAfter` with nothing in flight, in a run that fetched;
 * - `connector`: a connector's `health()` said unhealthy, failed, or did not answer in time.
 */
export type WatchdogProblemKind = 'startup' | 'processing' | 'fetch' | 'poll' | 'connector';

const problemKinds: readonly WatchdogProblemKind[] = [
  'startup',
  'processing',
  'fetch',
  'poll',
  'connector',
];

/** One problem the watchdog reports, as long as it lasts. */
export interface WatchdogProblem {
  readonly kind: WatchdogProblemKind;
  /** The connector's name for `connector`, else `run`. */
  readonly subject: string;
  /** What is wrong, in words ("3 in flight, no progress for 125 s"). */
  readonly detail: string;
  /** When the watchdog first saw it (the scheduler's clock, ms). */
  readonly since: number;
}

/** Where the run is, as the runner's lifecycle says. */
export type RunPhase = 'starting' | 'running' | 'closing';

/** The thresholds the watchdog applies (decoded `supervision`), in milliseconds. */
export interface WatchdogSettings {
  /** How often it checks. */
  readonly heartbeat: number;
  readonly stalledAfter: number;
  readonly startupGrace: number;
  /** How often it asks each connector's `health()`; also how long an answer may take. */
  readonly healthCheck: number;
}

/** What a run's watchdog reads. */
export interface WatchdogSources {
  readonly activity: () => RunActivity;
  readonly phase: () => RunPhase;
  /** A stop was requested. */
  readonly stopping: () => boolean;
}

/** Whether a kind of problem means the process is stuck (`/healthz`), not only unready. */
function isStall(kind: WatchdogProblemKind): boolean {
  return kind !== 'connector';
}

/**
 * Supervision of one run in its own process, worker pool or not: every `heartbeat` it checks
 * the run's activity (see {@link WatchdogProblemKind}); every `healthCheck` it asks each
 * connector's `health()`. A problem is logged once when it appears (`warn`) and once when it
 * clears (`info`), counted in `runner.watchdog.alerts` (attribute `kind`) and reported by
 * the gauge `runner.watchdog.problems` while it lasts; {@link alive} and {@link ready} answer
 * the health endpoints. Time goes through `scheduler` (virtual in tests).
 *
 * @example
 * ```ts
 * const watchdog = new RunWatchdog(settings, sources, log, asyncScheduler);
 * watchdog.watchConnector('orders', connector);
 * watchdog.start();
 * ```
 */
export class RunWatchdog {
  private readonly found = new Map<string, WatchdogProblem>();
  private readonly connectors: { readonly name: string; readonly connector: Connector }[] = [];
  private readonly health = new Map<string, ConnectorHealth | undefined>();
  /** The `health()` calls under way, by connector name. */
  private readonly pendingHealth = new Map<string, Subscription>();
  private readonly subscriptions: Subscription[] = [];
  private startedAt = 0;
  private gauge: ObservableGauge | null = null;
  private alerts: Counter | null = null;
  /** Every kind, 0 included, so that a dashboard or an alert has a series from the start. */
  private readonly observe = (result: ObservableResult): void => {
    const counts = new Map<WatchdogProblemKind, number>(problemKinds.map((kind) => [kind, 0]));
    for (const problem of this.found.values()) {
      counts.set(problem.kind, (counts.get(problem.kind) ?? 0) + 1);
    }
    for (const [kind, count] of counts) result.observe(count, { kind });
  };

  constructor(
    private readonly settings: WatchdogSettings,
    private readonly sources: WatchdogSources,
    private readonly log: Logger,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Asks `connector.health()` every `healthCheck` (a connector without one is skipped). */
  watchConnector(name: string, connector: Connector): void {
    if (typeof connector.health !== 'function') return;
    this.connectors.push({ name, connector });
    if (this.subscriptions.length > 0) this.askHealth(name, connector);
  }

  /** Starts checking (and the metrics, on the meter provider registered now). */
  start(): void {
    if (this.subscriptions.length > 0) return;
    this.startedAt = this.scheduler.now();
    const meter = metrics.getMeter('ergon.runner');
    this.gauge = meter.createObservableGauge('runner.watchdog.problems', {
      description: 'Problems the run watchdog reports now, by kind',
    });
    this.gauge.addCallback(this.observe);
    this.alerts = meter.createCounter('runner.watchdog.alerts', {
      description: 'Problems the run watchdog found, by kind (counted when each appears)',
    });
    this.subscriptions.push(
      interval(this.settings.heartbeat, this.scheduler).subscribe(() => this.check()),
      interval(this.settings.healthCheck, this.scheduler).subscribe(() => {
        for (const { name, connector } of this.connectors) this.askHealth(name, connector);
      }),
    );
    for (const { name, connector } of this.connectors) this.askHealth(name, connector);
  }

  /** Stops checking; nothing of it is left scheduled. */
  stop(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    for (const subscription of this.pendingHealth.values()) subscription.unsubscribe();
    this.pendingHealth.clear();
    this.gauge?.removeCallback(this.observe);
    this.gauge = null;
  }

  /** The problems now, oldest first. */
  problems(): readonly WatchdogProblem[] {
    return [...this.found.values()];
  }

  /** What each watched connector's `health()` said last (`undefined`: no answer yet). */
  connectorHealth(): ReadonlyMap<string, ConnectorHealth | undefined> {
    return this.health;
  }

  /** `/healthz`: nothing is stalled (an unhealthy connector is not a reason to restart). */
  alive(): boolean {
    for (const problem of this.found.values()) if (isStall(problem.kind)) return false;
    return true;
  }

  /** `/readyz`: running, not stopping, and no problem at all. */
  ready(): boolean {
    return this.sources.phase() === 'running' && !this.sources.stopping() && this.found.size === 0;
  }

  /** Checks the run's activity now. */
  check(): void {
    const now = this.scheduler.now();
    const phase = this.sources.phase();
    const { stalledAfter, startupGrace } = this.settings;
    const seconds = (ms: number): number => Math.round(ms / 1000);
    if (phase === 'starting' && now - this.startedAt > startupGrace) {
      this.raise('startup', 'run', `start-up has taken ${seconds(now - this.startedAt)} s`);
    } else {
      this.clear('startup', 'run');
    }
    const activity = phase === 'running' ? this.sources.activity() : undefined;
    const stopping = this.sources.stopping();
    if (
      activity !== undefined &&
      activity.inFlight > 0 &&
      activity.sinceProgressMs > stalledAfter
    ) {
      this.raise(
        'processing',
        'run',
        `${activity.inFlight} in flight, no progress for ${seconds(activity.sinceProgressMs)} s`,
      );
    } else {
      this.clear('processing', 'run');
    }
    const idle = activity !== undefined && activity.inFlight === 0;
    if (idle && activity.oldestFetchMs !== null && activity.oldestFetchMs > stalledAfter) {
      this.raise(
        'fetch',
        'run',
        `a fetch has been under way for ${seconds(activity.oldestFetchMs)} s with nothing in flight`,
      );
    } else {
      this.clear('fetch', 'run');
    }
    if (
      idle &&
      !stopping &&
      activity.fetching === 0 &&
      activity.sinceFetchStartedMs !== null &&
      activity.sinceFetchStartedMs > stalledAfter
    ) {
      this.raise(
        'poll',
        'run',
        `no fetch for ${seconds(activity.sinceFetchStartedMs)} s with nothing in flight`,
      );
    } else {
      this.clear('poll', 'run');
    }
  }

  private askHealth(name: string, connector: Connector): void {
    if (this.pendingHealth.has(name)) return;
    let answer: Observable<ConnectorHealth>;
    try {
      answer = from((connector.health as () => ObservableInput<ConnectorHealth>)());
    } catch (error) {
      this.connectorFailed(name, `health() threw: ${describeError(error)}`);
      return;
    }
    let done = false;
    const subscription = answer
      .pipe(take(1), timeout({ first: this.settings.healthCheck, scheduler: this.scheduler }))
      .subscribe({
        next: (health) => {
          this.health.set(name, health);
          if (health.healthy) {
            this.clear('connector', name);
          } else {
            // Kept as it said it (the dashboard and a pool's heartbeats show its state).
            const detail = health.detail === undefined ? '' : `: ${health.detail}`;
            this.raise(
              'connector',
              name,
              `connector "${name}" unhealthy (${health.state}${detail})`,
            );
          }
        },
        error: (error: unknown) => {
          done = true;
          this.pendingHealth.delete(name);
          this.connectorFailed(name, `health() failed: ${describeError(error)}`);
        },
        complete: () => {
          done = true;
          this.pendingHealth.delete(name);
        },
      });
    if (!done) this.pendingHealth.set(name, subscription);
  }

  private connectorFailed(name: string, detail: string): void {
    this.health.set(name, { healthy: false, state: 'failing', detail });
    this.raise('connector', name, `connector "${name}" ${detail}`);
  }

  private raise(kind: WatchdogProblemKind, subject: string, detail: string): void {
    const key = `${kind}:${subject}`;
    const known = this.found.get(key);
    if (known !== undefined) {
      this.found.set(key, { ...known, detail });
      return;
    }
    this.found.set(key, { kind, subject, detail, since: this.scheduler.now() });
    this.alerts?.add(1, { kind });
    this.log.warn(`watchdog: ${kind} ${isStall(kind) ? 'stalled' : 'problem'}: ${detail}`);
  }

  private clear(kind: WatchdogProblemKind, subject: string): void {
    const key = `${kind}:${subject}`;
    if (!this.found.delete(key)) return;
    this.log.info(`watchdog: ${kind} ${subject === 'run' ? '' : `(${subject}) `}recovered`);
  }
}
