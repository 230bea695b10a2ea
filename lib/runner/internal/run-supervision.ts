import type { Server } from 'node:http';
import { asyncScheduler, isObservable, tap, type Observable, type SchedulerLike } from 'rxjs';
import type { Connector } from '../../core/connector.js';
import type { Logger } from '../../core/logging.js';
import { describeError } from '../../core/renderers.js';
import { waitAtMost } from '../../core/waiting.js';
import { isOutcome, type OutcomeStatus } from '../../core/outcome.js';
import type { DashboardProblem, DashboardWorker } from '../../dashboard/dashboard-api.js';
import type { DashboardSettings } from '../../dashboard/dashboard-config.js';
import type { DashboardRoutes } from '../../dashboard/dashboard-routes.js';
import { DashboardRequestError } from '../../dashboard/dashboard-errors.js';
import type { DeadLetterDesk } from '../../dashboard/dead-letter-desk.js';
import type { RunMonitor } from '../../dashboard/run-monitor.js';
import type { TelemetryConfigInput } from '../../telemetry/config/telemetry-config.js';
import type { SetupTelemetryOptions } from '../../telemetry/setup-telemetry.js';
import { EndpointListenError } from '../runner-errors.js';
import type { TaskDefinition } from '../define-task.js';
import type { SupervisionSettings } from '../supervision-config-codec.js';
import { EventLoopWatchdog } from './event-loop-watchdog.js';
import {
  problemsDetail,
  startHealthServer,
  stopHealthServer,
  type HealthProbe,
} from './health-server.js';
import { RunWatchdog, type RunPhase } from './run-watchdog.js';
import {
  closeTaskConnector,
  openTaskConnector,
  type TaskConnector,
} from './standalone-connector.js';
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
  private desk: DeadLetterDesk | undefined;
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
    // A worker's heartbeats carry its connectors' health to the primary (its /readyz).
    if (options.poolWorker) liveness.reportConnectorHealth(() => this.watchdog.connectorHealth());
  }

  /** Loads the dashboard's modules when there is a dashboard (the SDK's metrics come with them). */
  async prepare(): Promise<void> {
    const dashboard = this.options.dashboard;
    if (dashboard === undefined || this.options.poolWorker) return;
    const [{ RunMonitor }, { DashboardRoutes }, { DeadLetterDesk }] = await Promise.all([
      import('../../dashboard/run-monitor.js'),
      import('../../dashboard/dashboard-routes.js'),
      import('../../dashboard/dead-letter-desk.js'),
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
    this.desk = new DeadLetterDesk();
    this.routes = new DashboardRoutes(this.monitor, {
      desk: this.desk,
      actions: { enabled: dashboard.actions, allowedHosts: dashboard.allowedHosts },
    });
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
      detail: () =>
        problemsDetail(this.watchdog.problems()) ??
        (this.options.stopping() ? 'stopping' : this.options.phase()),
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

  /** Instruments a connector the runner created: liveness, health, queue depth, dead letters. */
  connectorCreated(name: string, connector: Connector): void {
    this.options.liveness.instrumentConnector(connector);
    this.watchdog.watchConnector(name, connector);
    this.monitor?.watchConnector(name, connector);
    this.desk?.add(name, connector);
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
 * restarts, their connectors' health) and the throughput summed from their heartbeats;
 * `/healthz` and `/readyz` answer for the pool. Latency, limits, failures and queue depths
 * live in the workers (their metrics go to Prometheus or OTLP). The dead-letter panel uses
 * connectors of the primary's own, built with the task's factories on first use and closed
 * when the dashboard stops. Resolves the function that stops it.
 *
 * @throws EndpointListenError when it cannot listen.
 */
export async function startPoolDashboard(
  definition: Pick<TaskDefinition, 'name' | 'connectors' | 'policies'>,
  settings: DashboardSettings,
  pool: {
    readonly workers: () => readonly DashboardWorker[];
    readonly ended: () => Readonly<Record<OutcomeStatus, number>>;
    readonly alive: () => boolean;
    readonly ready: () => boolean;
    readonly problems: () => readonly DashboardProblem[];
  },
  log: Logger,
): Promise<() => Promise<void>> {
  const [{ RunMonitor }, { DashboardRoutes }, { DeadLetterDesk }] = await Promise.all([
    import('../../dashboard/run-monitor.js'),
    import('../../dashboard/dashboard-routes.js'),
    import('../../dashboard/dead-letter-desk.js'),
  ]);
  const task = definition.name;
  let stopping = false;
  const monitor = new RunMonitor(
    settings,
    {
      task,
      mode: 'pool',
      phase: () => (stopping ? 'stopping' : 'running'),
      inFlight: () => pool.workers().reduce((sum, worker) => sum + worker.inFlight, 0),
      health: () => ({ alive: pool.alive(), ready: pool.ready(), problems: pool.problems() }),
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
  const opened = new PrimaryConnectors(definition, log);
  const desk = new DeadLetterDesk();
  for (const name of Object.keys(definition.connectors)) {
    desk.add(name, () => opened.open(name));
  }
  const routes = new DashboardRoutes(monitor, {
    desk,
    actions: { enabled: settings.actions, allowedHosts: settings.allowedHosts },
  });
  let server: Server;
  try {
    server = await startHealthServer(
      settings.port,
      {
        alive: () => pool.alive(),
        ready: () => pool.ready(),
        detail: () => problemsDetail(pool.problems()),
      },
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
    await opened.closeAll();
  };
}

/**
 * The connectors the primary of a pool builds for itself (the dead-letter panel): each opened
 * once, on first use, with the task's factory; all closed by {@link closeAll}, which also
 * aborts the factories' signal (an open still under way gives up, and what it still returns
 * is closed).
 */
class PrimaryConnectors {
  /** How long {@link closeAll} waits for each connector (its open included). */
  private static readonly closeTime = 5_000;
  private readonly abort = new AbortController();
  private readonly opening = new Map<string, Promise<TaskConnector>>();

  constructor(
    private readonly definition: Pick<TaskDefinition, 'name' | 'connectors' | 'policies'>,
    private readonly log: Logger,
  ) {}

  open(name: string): Promise<TaskConnector> {
    if (this.abort.signal.aborted) {
      return Promise.reject(
        new DashboardRequestError(503, 'the pool is ending: its connectors are closed'),
      );
    }
    let opening = this.opening.get(name);
    if (opening === undefined) {
      opening = openTaskConnector(this.definition, name, this.abort.signal);
      this.opening.set(name, opening);
      opening.then(
        () => this.log.info(`connector ${name} opened in the primary (dead letters)`),
        (error: unknown) => {
          this.opening.delete(name);
          this.log.warn(
            `connector ${name} could not be opened in the primary: ${describeError(error)}`,
          );
        },
      );
    }
    return opening;
  }

  async closeAll(): Promise<void> {
    this.abort.abort();
    const opened = [...this.opening.entries()];
    this.opening.clear();
    await Promise.all(
      opened.map(async ([name, opening]) => {
        // A failed open was logged when it failed: nothing to close.
        const close = opening.then(
          (connector) => closeTaskConnector(connector),
          () => undefined,
        );
        close.catch((error: unknown) =>
          this.log.warn(
            `connector ${name} of the primary failed to close: ${describeError(error)}`,
          ),
        );
        if (!(await waitAtMost(close, PrimaryConnectors.closeTime))) {
          this.log.warn(
            `connector ${name} of the primary did not close within ${PrimaryConnectors.closeTime / 1000} s`,
          );
        }
      }),
    );
  }
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
