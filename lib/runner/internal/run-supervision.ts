import type { Server } from 'node:http';
import { asyncScheduler, isObservable, tap, type Observable, type SchedulerLike } from 'rxjs';
import type { Connector } from '../../core/connector.js';
import type { Logger } from '../../core/logging.js';
import { isOutcome, type OutcomeStatus } from '../../core/outcome.js';
import type { DashboardWorker } from '../../dashboard/dashboard-api.js';
import type { DashboardSettings } from '../../dashboard/dashboard-config.js';
import type { DashboardRoutes } from '../../dashboard/dashboard-routes.js';
import type { RunMonitor } from '../../dashboard/run-monitor.js';
import type { TelemetryConfigInput } from '../../telemetry/config/telemetry-config.js';
import type { SetupTelemetryOptions } from '../../telemetry/setup-telemetry.js';
import { EndpointListenError } from '../runner-errors.js';
import type { SupervisionSettings } from '../supervision-config-codec.js';
import { EventLoopWatchdog } from './event-loop-watchdog.js';
import { startHealthServer, stopHealthServer, type HealthProbe } from './health-server.js';
import { RunWatchdog, type RunPhase } from './run-watchdog.js';
import type { WorkerLiveness } from './worker-liveness.js';

/** What {@link RunSupervision} needs of the task and the process. */
export interface RunSupervisionOptions {
  readonly task: string;
  readonly supervision: SupervisionSettings;
  readonly dashboard: DashboardSettings | undefined;
  /** A worker of a pool: the primary serves the endpoints and watches the event loop. */
  readonly poolWorker: boolean;
  readonly liveness: WorkerLiveness;
  readonly phase: () => RunPhase;
  readonly stopping: () => boolean;
  readonly log: Logger;
  /** Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Telemetry as the runner sets it up with the dashboard's reader and span processor added. */
export interface SupervisedTelemetry {
  readonly input: TelemetryConfigInput;
  readonly options: Pick<SetupTelemetryOptions, 'spanProcessors'>;
}

/**
 * Everything that watches one run in its process: the run's watchdog (stalls, connectors'
 * health), the event-loop watchdog thread, the health endpoints (`supervision.http`) and the
 * dashboard (`dashboard`), which also answers `/healthz` and `/readyz`. In a worker of a pool
 * only the run's watchdog runs (logs and metrics); the primary serves the endpoints.
 *
 * @example
 * ```ts
 * const supervised = new RunSupervision(options);
 * await supervised.prepare();
 * setupTelemetry(supervised.telemetry(config)?.input);
 * await supervised.start();
 * ```
 */
export class RunSupervision {
  readonly watchdog: RunWatchdog;
  private readonly eventLoop: EventLoopWatchdog | undefined;
  private monitor: RunMonitor | undefined;
  private routes: DashboardRoutes | undefined;
  private readonly servers: Server[] = [];
  private readonly scheduler: SchedulerLike;

  constructor(private readonly options: RunSupervisionOptions) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    const { supervision, liveness } = options;
    this.watchdog = new RunWatchdog(
      supervision,
      { activity: () => liveness.activity(), phase: options.phase, stopping: options.stopping },
      options.log,
      this.scheduler,
    );
    this.eventLoop =
      supervision.eventLoopWatchdog && !options.poolWorker
        ? new EventLoopWatchdog(supervision.wedgedAfter)
        : undefined;
  }

  /** Loads the dashboard's modules when there is a dashboard (the SDK's metrics come with them). */
  async prepare(): Promise<void> {
    const dashboard = this.options.dashboard;
    if (dashboard === undefined || this.options.poolWorker) return;
    const [{ RunMonitor }, { DashboardRoutes }] = await Promise.all([
      import('../../dashboard/run-monitor.js'),
      import('../../dashboard/dashboard-routes.js'),
    ]);
    const { liveness, phase, stopping } = this.options;
    this.monitor = new RunMonitor(
      dashboard,
      {
        task: this.options.task,
        mode: 'single',
        phase: () => (stopping() && phase() === 'running' ? 'stopping' : phase()),
        inFlight: () => liveness.activity().inFlight,
        health: () => ({
          alive: this.watchdog.alive(),
          ready: this.watchdog.ready(),
          problems: this.watchdog.problems().map((problem) => ({
            ...problem,
            since: Date.now() - (this.scheduler.now() - problem.since),
          })),
        }),
        connectorHealth: () => this.watchdog.connectorHealth(),
      },
      this.scheduler,
    );
    this.routes = new DashboardRoutes(this.monitor);
  }

  /**
   * The telemetry to set up: the task's, with the dashboard's metric reader and span processor
   * added; with a dashboard and no telemetry, metrics and traces for the dashboard alone (and
   * the logs as `setupTelemetry` formats them: pretty on a terminal, JSON otherwise).
   * `undefined`: nothing to set up.
   */
  telemetry(input: TelemetryConfigInput | undefined): SupervisedTelemetry | undefined {
    const monitor = this.monitor;
    if (monitor === undefined) return input === undefined ? undefined : { input, options: {} };
    const base: TelemetryConfigInput = input ?? {
      logs: { format: process.stdout.isTTY ? 'pretty' : 'json' },
    };
    return {
      input: {
        ...base,
        metrics: {
          ...base.metrics,
          readers: [...(base.metrics?.readers ?? []), monitor.reader],
        },
      },
      options: { spanProcessors: [monitor.traces] },
    };
  }

  /**
   * Starts the watchdogs and the endpoints.
   *
   * @throws EndpointListenError when an endpoint cannot listen.
   */
  async start(): Promise<void> {
    this.watchdog.start();
    this.eventLoop?.start();
    this.monitor?.start();
    if (this.options.poolWorker) return;
    const probe: HealthProbe = {
      alive: () => this.watchdog.alive(),
      ready: () => this.watchdog.ready(),
      detail: () => {
        const problems = this.watchdog.problems();
        if (problems.length > 0) return problems.map((problem) => problem.detail).join('; ');
        return this.options.stopping() ? 'stopping' : this.options.phase();
      },
    };
    const http = this.options.supervision.http;
    if (http !== undefined) {
      const port = await this.listen(probe, http.port, http.host, 'supervision.http');
      this.options.log.info(`health endpoints on http://${http.host}:${port} (/healthz, /readyz)`);
    }
    const dashboard = this.options.dashboard;
    const routes = this.routes;
    if (dashboard !== undefined && routes !== undefined) {
      const port = await this.listen(probe, dashboard.port, dashboard.host, 'dashboard', routes);
      this.options.log.info(`dashboard on http://${urlHost(dashboard.host)}:${port}/`);
    }
  }

  /** Instruments a connector the runner created: liveness, health, queue depth. */
  connectorCreated(name: string, connector: Connector): void {
    this.options.liveness.instrumentConnector(connector);
    this.watchdog.watchConnector(name, connector);
    this.monitor?.watchConnector(name, connector);
  }

  /** Counts a run's outcomes (liveness) and hands its failures to the dashboard. */
  track<R extends Observable<unknown> | PromiseLike<unknown>>(run: R): R {
    const tracked = this.options.liveness.track(run);
    const monitor = this.monitor;
    if (monitor === undefined || !isObservable(tracked)) return tracked;
    return tracked.pipe(
      tap((value) => {
        if (isOutcome(value)) monitor.record(value);
      }),
    ) as R;
  }

  /** Stops everything it started (endpoints, watchdogs, the dashboard's sampling). */
  async close(): Promise<void> {
    this.watchdog.stop();
    this.monitor?.stop();
    this.routes?.close();
    await Promise.all(this.servers.splice(0).map((server) => stopHealthServer(server)));
    await this.eventLoop?.stop();
  }

  private async listen(
    probe: HealthProbe,
    port: number,
    host: string,
    setting: string,
    routes?: DashboardRoutes,
  ): Promise<number> {
    let server: Server;
    try {
      server = await startHealthServer(
        port,
        probe,
        host,
        routes === undefined ? undefined : (request, response) => routes.handle(request, response),
      );
    } catch (error) {
      throw new EndpointListenError(setting, host, port, error);
    }
    this.servers.push(server);
    return portOf(server, port);
  }
}

/**
 * The dashboard of a worker pool, served by the primary: the workers (state, in flight,
 * restarts) and the throughput summed from their heartbeats; `/healthz` and `/readyz` answer
 * for the pool. Latency, limits, failures and queue depths live in the workers (their metrics
 * go to Prometheus or OTLP). Resolves the function that stops it.
 *
 * @throws EndpointListenError when it cannot listen.
 */
export async function startPoolDashboard(
  task: string,
  settings: DashboardSettings,
  pool: {
    readonly workers: () => readonly DashboardWorker[];
    readonly ended: () => Readonly<Record<OutcomeStatus, number>>;
    readonly alive: () => boolean;
    readonly ready: () => boolean;
  },
  log: Logger,
): Promise<() => Promise<void>> {
  const [{ RunMonitor }, { DashboardRoutes }] = await Promise.all([
    import('../../dashboard/run-monitor.js'),
    import('../../dashboard/dashboard-routes.js'),
  ]);
  let stopping = false;
  const monitor = new RunMonitor(
    settings,
    {
      task,
      mode: 'pool',
      phase: () => (stopping ? 'stopping' : 'running'),
      inFlight: () => pool.workers().reduce((sum, worker) => sum + worker.inFlight, 0),
      health: () => ({ alive: pool.alive(), ready: pool.ready(), problems: [] }),
      workers: () => pool.workers(),
      read: () => ({
        ended: new Map(Object.entries(pool.ended()) as [OutcomeStatus, number][]),
        durations: null,
        inFlight: pool.workers().reduce((sum, worker) => sum + worker.inFlight, 0),
        limit: null,
        breakerTransitions: new Map(),
        rateLimitPauses: null,
      }),
    },
    asyncScheduler,
  );
  const routes = new DashboardRoutes(monitor);
  let server: Server;
  try {
    server = await startHealthServer(
      settings.port,
      { alive: () => pool.alive(), ready: () => pool.ready() },
      settings.host,
      (request, response) => routes.handle(request, response),
    );
  } catch (error) {
    throw new EndpointListenError('dashboard', settings.host, settings.port, error);
  }
  monitor.start();
  log.info(`dashboard on http://${urlHost(settings.host)}:${portOf(server, settings.port)}/`);
  return async () => {
    stopping = true;
    monitor.stop();
    routes.close();
    await stopHealthServer(server);
  };
}

/** A host as it goes in a URL (an IPv6 address in brackets). */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The port a server listens on (the one asked for, when it cannot tell). */
function portOf(server: Server, asked: number): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : asked;
}
