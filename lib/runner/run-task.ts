import cluster from 'node:cluster';
import type { Connector } from '../core/connector.js';
import type { Logger } from '../core/logging.js';
import { describeError } from '../core/renderers.js';
import { PolicyError } from '../core/errors.js';
import { Subscription } from 'rxjs';
import type { LoggingHandle } from '../telemetry/logging/configure-logging.js';
import { getLogger } from '../telemetry/logging/get-logger.js';
import { applyLogLevel, type LogLevelName } from '../telemetry/logging/log-level.js';
import type { TelemetryConfigInput } from '../telemetry/config/telemetry-config.js';
import type { TelemetryHandle } from '../telemetry/telemetry-handle.js';
import {
  defineTask,
  type ConnectorFactories,
  type ResourceContext,
  type ServiceFactories,
  type TaskConfig,
  type TaskContextOf,
  type TaskDefinition,
  type TaskPolicies,
} from './define-task.js';
import { awaitRun } from './internal/await-run.js';
import { awaitEventually } from '../core/connector.js';
import { ResourceStack, runnerSpan } from './internal/resource-stack.js';
import {
  finishedBeforeCutoff,
  guardEscapedErrors,
  ShutdownSignals,
} from './internal/shutdown-signals.js';
import { RunSupervision, startPoolDashboard } from './internal/run-supervision.js';
import { WorkerLiveness } from './internal/worker-liveness.js';
import { isWorkerStopRequest } from './internal/worker-messages.js';
import { WorkerPoolSupervisor } from './internal/worker-pool-supervisor.js';
import {
  ExitCode,
  PrimaryLostError,
  ResourceInitError,
  RunResultError,
  StartupCancelledError,
  type ExitCodeValue,
} from './runner-errors.js';
import { DEFAULT_SHUTDOWN_GRACE } from './task-config-codec.js';
import { currentWorkerIdentity } from './worker-environment.js';

/** Options of {@link runTask}. */
export interface RunTaskOptions {
  /**
   * Act as the owner of the process (default `true`): install SIGTERM/SIGINT handlers, and
   * `unhandledRejection`/`uncaughtException` handlers that log an escaped error and stop the
   * run gracefully with exit code 1.
   */
  readonly signals?: boolean;
  /** The worker's id in the run context (default 0; in a forked worker, its id 1..N). */
  readonly workerId?: number;
  /** Call `process.exit(code)` at the end (default `false`: just resolve the code). */
  readonly exit?: boolean;
}

const runnerLog = getLogger('ergon.runner');

/**
 * Runs a task as a service and resolves its exit code: sets telemetry up (if configured),
 * creates the connectors then the services in declaration order (awaiting an optional
 * `init({ signal })` on each), runs the task until its Observable completes (or its Promise
 * settles; a Promise that resolves to an Observable has that Observable subscribed), calls
 * the `exit` hook, closes services then connectors in reverse creation order, flushes and
 * shuts telemetry down. The process is kept alive until all that is done.
 *
 * The first SIGTERM/SIGINT emits `stop$` and aborts `signal` (during start-up: the factory or
 * `init` under way is cancelled): a run that passes `stop$` to `consume` stops fetching and
 * drains. The whole stop — drain, exit hook, closes, telemetry flush — has one deadline,
 * `shutdownGrace` after the first signal; at the deadline, or on a second signal, the stop is
 * forced: the run is cancelled and what is left of closing gets 1 s.
 *
 * An error that escapes the task (`unhandledRejection`, `uncaughtException`) is logged and
 * stops the run the same graceful way, and the run then exits with code 1.
 *
 * Exit codes: 0 success, 1 run/factory/init/exit-hook error (an exit hook abandoned at the
 * deadline included) or escaped error, 2 invalid configuration (`PolicyError`) or a run that
 * returned neither an Observable nor a Promise (`RunResultError`), 130 after SIGINT, 143
 * after SIGTERM.
 *
 * With `workers > 1`, the primary process runs a {@link WorkerPoolSupervisor} instead: it
 * forks N `node:cluster` workers that re-run the entry script, where `runTask` runs the task
 * single-process with `workerId` 1..N and reports heartbeats to the primary. A worker that
 * loses its primary stops gracefully and exits 1; at the end a worker disconnects itself, so
 * `process.exitCode = await runTask(task)` keeps the run's code.
 *
 * @example
 * ```ts
 * const task = defineTask({
 *   name: 'orders',
 *   connectors: { orders: () => new MemoryConnector<Order>({ source: seed }) },
 *   run: ({ connectors, stop$ }) => consume(connectors.orders, shipOrder, {}, { stop$ }),
 * });
 * await runTask(task, { exit: true });
 * ```
 */
export async function runTask<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(
  task: TaskDefinition<CF, SF, P> | TaskConfig<CF, SF, P>,
  options: RunTaskOptions = {},
): Promise<ExitCodeValue> {
  const identity = currentWorkerIdentity();
  const decoded = decodeTask(task);
  const pool = identity === undefined ? poolDefinition(decoded) : undefined;
  if (pool !== undefined) {
    const logging = await primaryLogging(pool);
    if (typeof logging === 'number') {
      if (options.exit === true) process.exit(logging);
      return logging;
    }
    const supervisor = new WorkerPoolSupervisor(
      pool.workers,
      pool.supervision,
      pool.shutdownGrace,
      runnerLog,
    );
    let stopDashboard: (() => Promise<void>) | undefined;
    if (pool.dashboard !== undefined) {
      try {
        stopDashboard = await startPoolDashboard(pool, pool.dashboard, supervisor, runnerLog);
      } catch (error) {
        runnerLog.error(`${describeError(error)}. No worker was started`);
        await logging?.shutdown().catch(() => undefined);
        if (options.exit === true) process.exit(ExitCode.runError);
        return ExitCode.runError;
      }
    }
    const pooled = await supervisor.run(options.signals !== false);
    await stopDashboard?.();
    await logging?.shutdown().catch(() => undefined);
    if (options.exit === true) process.exit(pooled);
    return pooled;
  }
  const shutdown = new ShutdownSignals(DEFAULT_SHUTDOWN_GRACE);
  // The run may wait for nothing but `stop$` (no timer, no socket): this keeps the process
  // alive until the run, its exit hook and the closes are done.
  const hold = setInterval(() => undefined, HOLD_INTERVAL);
  const uninstall =
    options.signals === false ? undefined : installProcessHandlers(shutdown, runnerLog);
  const workerId = options.workerId ?? identity?.workerId ?? 0;
  const heartbeat = 'definition' in decoded ? decoded.definition.supervision.heartbeat : undefined;
  const link = identity === undefined ? undefined : linkToPrimary(heartbeat, workerId, shutdown);
  const liveness = link?.liveness ?? new WorkerLiveness(workerId, HOLD_INTERVAL, () => undefined);
  let code: ExitCodeValue;
  try {
    code = await runLifecycle(decoded, shutdown, workerId, liveness);
  } finally {
    uninstall?.();
    link?.close();
    shutdown.dispose();
    clearInterval(hold);
  }
  if (options.exit === true) process.exit(code);
  return code;
}

/** Longest interval of the timer that holds the process during a run. */
const HOLD_INTERVAL = 2 ** 30;

/** Signal and escaped-error handlers on `process`; returns the function that removes them. */
function installProcessHandlers(shutdown: ShutdownSignals, log: Logger): () => void {
  const unguard = guardEscapedErrors(shutdown, log);
  const unlisten = shutdown.install();
  return () => {
    unlisten();
    unguard();
  };
}

/** A task's configuration, decoded once per {@link runTask}: its definition, or the error. */
type DecodedTask<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
> = { readonly definition: TaskDefinition<CF, SF, P> } | { readonly error: unknown };

function decodeTask<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(task: TaskDefinition<CF, SF, P> | TaskConfig<CF, SF, P>): DecodedTask<CF, SF, P> {
  try {
    // Checked at run time (a PolicyError, exit 2) whatever the type of `policies`.
    return { definition: defineTask(task as TaskConfig) as TaskDefinition<CF, SF, P> };
  } catch (error) {
    return { error }; // runLifecycle reports it
  }
}

/** The definition when it asks for a worker pool and this is the primary process. */
function poolDefinition<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(decoded: DecodedTask<CF, SF, P>): TaskDefinition<CF, SF, P> | undefined {
  if (!cluster.isPrimary || !('definition' in decoded)) return undefined;
  return decoded.definition.workers > 1 ? decoded.definition : undefined;
}

/**
 * In the primary of a pool, the task's logging configuration (level, format, sinks; its own
 * rotating files), so its lines (the health port, restarts) come out as the workers' do. The
 * exit code of a configuration error (logged once), `undefined` without telemetry.
 */
async function primaryLogging(
  definition: Pick<TaskDefinition, 'logLevel' | 'telemetry'>,
): Promise<LoggingHandle | ExitCodeValue | undefined> {
  applyLogLevel(definition.logLevel);
  if (definition.telemetry === undefined) return undefined;
  try {
    const [{ configureLogging }, { telemetryConfig }] = await Promise.all([
      import('../telemetry/logging/configure-logging.js'),
      import('../telemetry/config/telemetry-config.js'),
    ]);
    const config = telemetryConfig(
      withLogLevel(definition.telemetry, definition.logLevel),
      process.env,
    );
    return configureLogging(config.logs, { writer: 'primary' });
  } catch (error) {
    return reportFailure('logging could not be set up', error);
  }
}

/** A worker's link to its primary: heartbeats, stop requests, and the IPC channel's end. */
interface PrimaryLink {
  readonly liveness: WorkerLiveness | undefined;
  /** Stops the heartbeats and disconnects from the primary (the run is over). */
  readonly close: () => void;
}

/**
 * In a forked worker: heartbeats to the primary, its stop requests handled (one stop with
 * this process's own copy of the same signal, see {@link ShutdownSignals.requestFromPrimary}),
 * and a lost IPC channel (the primary was killed) turned into a graceful stop.
 *
 * Node's cluster code exits a worker with code 0 as soon as its channel closes unless
 * `worker.exitedAfterDisconnect` is set: set here before that check runs (the `disconnect`
 * event of `cluster.worker` comes first), so that the worker drains, settles, runs its exit
 * hook and closes, and exits with its own code. The worker disconnects itself the same way
 * at the end, so `process.exitCode = await runTask(task)` keeps the run's code.
 */
function linkToPrimary(
  interval: number | undefined,
  workerId: number,
  shutdown: ShutdownSignals,
): PrimaryLink {
  const worker = cluster.worker;
  const liveness =
    interval === undefined
      ? undefined
      : new WorkerLiveness(workerId, interval, (heartbeat) => {
          if (process.connected) process.send?.(heartbeat);
        });
  let closing = false;
  const onMessage = (message: unknown): void => {
    if (!isWorkerStopRequest(message)) return;
    shutdown.requestFromPrimary(message.signal);
    if (message.force) shutdown.force('signal');
  };
  const onDisconnect = (): void => {
    if (closing || worker === undefined) return;
    worker.exitedAfterDisconnect = true;
    const lost = new PrimaryLostError(workerId);
    runnerLog.error(lost.message);
    shutdown.fail(lost);
  };
  process.on('message', onMessage);
  worker?.on('disconnect', onDisconnect);
  const stopping = shutdown.stop$.subscribe(() => liveness?.stopping());
  liveness?.start();
  return {
    liveness,
    close: () => {
      closing = true;
      liveness?.stop();
      stopping.unsubscribe();
      process.off('message', onMessage);
      worker?.off('disconnect', onDisconnect);
      if (process.connected) worker?.disconnect();
    },
  };
}

async function runLifecycle<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(
  decoded: DecodedTask<CF, SF, P>,
  shutdown: ShutdownSignals,
  workerId: number,
  liveness: WorkerLiveness,
): Promise<ExitCodeValue> {
  let definition: TaskDefinition<CF, SF, P>;
  let telemetry: TelemetryHandle | undefined;
  let supervised: RunSupervision;
  const phase: Phase = { step: 'starting' };
  try {
    if ('error' in decoded) throw decoded.error;
    definition = decoded.definition;
    shutdown.setGrace(definition.shutdownGrace);
    applyLogLevel(definition.logLevel);
    const worker = currentWorkerIdentity();
    supervised = new RunSupervision({
      task: definition.name,
      supervision: definition.supervision,
      dashboard: definition.dashboard,
      poolWorker: worker !== undefined,
      liveness,
      phase: () => phase.step,
      stopping: () => shutdown.stopped,
      log: runnerLog,
    });
    await supervised.prepare();
    const withTelemetry = supervised.telemetry(
      definition.telemetry === undefined
        ? undefined
        : withLogLevel(definition.telemetry, definition.logLevel),
    );
    if (withTelemetry !== undefined) {
      // Loaded only when asked for: a task without telemetry never loads the SDK.
      const { setupTelemetry } = await import('../telemetry/setup-telemetry.js');
      // Each worker of a pool rotates log files of its own.
      telemetry = setupTelemetry(withTelemetry.input, {
        ...withTelemetry.options,
        writer: worker === undefined ? undefined : `worker-${worker.workerId}`,
      });
    }
  } catch (error) {
    runnerLog.error(error instanceof PolicyError ? error.message : describeError(error));
    return error instanceof PolicyError ? ExitCode.configError : ExitCode.runError;
  }
  try {
    await supervised.start();
  } catch (error) {
    runnerLog.error(describeError(error));
    await supervised.close();
    if (telemetry !== undefined) await shutDownTelemetry(telemetry, shutdown);
    return ExitCode.runError;
  }
  runnerLog.info(`task ${definition.name} starting (worker ${workerId})`);
  const logger = getLogger(definition.name);
  const resources = new ResourceStack(runnerLog, shutdown);
  const announcements = announceStop(shutdown, liveness, phase);
  const code = await runnerSpan(
    `task ${definition.name}`,
    { 'ergon.task.name': definition.name, 'ergon.worker.id': workerId },
    async () => {
      const failure = await startRunAndExit(
        definition,
        resources,
        shutdown,
        workerId,
        logger,
        supervised,
        phase,
      );
      await resources.closeAll();
      if (failure !== undefined) return failure;
      return shutdown.failure !== undefined ? ExitCode.runError : signalExitCode(shutdown);
    },
  );
  announcements.unsubscribe();
  await supervised.close();
  runnerLog.info(`task ${definition.name} finished with exit code ${code}`);
  if (telemetry !== undefined) await shutDownTelemetry(telemetry, shutdown);
  return code;
}

/**
 * Flushes and shuts telemetry down within what is left of the stop's deadline; past that,
 * drops what the collector did not take, so it cannot keep the process alive.
 */
async function shutDownTelemetry(
  telemetry: TelemetryHandle,
  shutdown: ShutdownSignals,
): Promise<void> {
  try {
    if (await finishedBeforeCutoff(telemetry.shutdown(), shutdown)) return;
    telemetry.abandon();
    console.error('telemetry shutdown abandoned: the collector did not answer in time');
  } catch (error) {
    console.error(`telemetry shutdown failed: ${describeError(error)}`);
  }
}

/**
 * Logs what a stop does and how long it may take ("draining 8 in flight (up to 30 s); press
 * Ctrl-C again to force"), and why it was forced.
 */
function announceStop(
  shutdown: ShutdownSignals,
  liveness: WorkerLiveness,
  phase: Readonly<Phase>,
): Subscription {
  // Two subscriptions in one: `stop$` completes right after it emits, which would end the
  // second one too if it were added to the first.
  const subscription = new Subscription();
  subscription.add(
    shutdown.stop$.subscribe(() => {
      const why = shutdown.received ?? shutdown.failure?.name ?? 'stop';
      const upTo = `up to ${seconds(shutdown.remaining())} s`;
      const again =
        shutdown.received === 'SIGINT'
          ? 'press Ctrl-C again to force'
          : `send ${shutdown.received ?? 'SIGTERM'} again to force`;
      const what =
        phase.step === 'starting'
          ? `cancelling start-up (${upTo})`
          : phase.step === 'running'
            ? `draining ${liveness.snapshot().inFlight} in flight (${upTo})`
            : `finishing the exit hook and closes (${upTo})`;
      runnerLog.warn(`stop requested (${why}); ${what}; ${again}`);
    }),
  );
  subscription.add(
    shutdown.forced$.subscribe(() => {
      const left = `whatever is left gets ${seconds(shutdown.remaining())} s to close`;
      const released = phase.step === 'running' ? 'in-flight work is released, ' : '';
      runnerLog.warn(
        shutdown.forcedBy === 'grace'
          ? `shutdown grace of ${seconds(shutdown.graceMs)} s is over; ${released}${left}`
          : `stop forced; ${released}${left}`,
      );
    }),
  );
  return subscription;
}

/** Milliseconds as seconds with at most one decimal. */
function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** Where the lifecycle is, for what a stop announces. */
interface Phase {
  step: 'starting' | 'running' | 'closing';
}

/**
 * Creates the resources, runs the task, calls the exit hook; resolves the exit code of the
 * first failure (see {@link reportFailure}), `undefined` when nothing failed.
 */
async function startRunAndExit<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(
  definition: TaskDefinition<CF, SF, P>,
  resources: ResourceStack,
  shutdown: ShutdownSignals,
  workerId: number,
  logger: Logger,
  supervised: RunSupervision,
  phase: Phase,
): Promise<ExitCodeValue | undefined> {
  const base: ResourceContext<P> = {
    name: definition.name,
    workerId,
    workers: definition.workers,
    policies: definition.policies,
    logger,
    signal: shutdown.signal,
  };
  let context: TaskContextOf<CF, SF, P>;
  try {
    const connectors: Record<string, unknown> = {};
    for (const [name, factory] of Object.entries(definition.connectors)) {
      const connector = await runnerSpan(`create connector ${name}`, {}, () =>
        resources.create('connector', name, factory, base),
      );
      supervised.connectorCreated(name, connector as Connector);
      connectors[name] = connector;
    }
    const services: Record<string, unknown> = {};
    for (const [name, factory] of Object.entries(definition.services)) {
      services[name] = await runnerSpan(`create service ${name}`, {}, () =>
        resources.create('service', name, factory, base),
      );
    }
    context = { ...base, connectors, services, stop$: shutdown.stop$ } as TaskContextOf<CF, SF, P>;
  } catch (error) {
    if (error instanceof StartupCancelledError) {
      runnerLog.warn(`start-up cancelled: ${error.message}`);
      return undefined;
    }
    return reportFailure('task could not start', error);
  } finally {
    phase.step = 'running';
  }
  if (shutdown.stopped) {
    runnerLog.info('stopped before the run started');
    return undefined;
  }
  let failure: ExitCodeValue | undefined;
  try {
    runnerLog.info('run started');
    const emitted = await runnerSpan('run', {}, () =>
      awaitRun(definition.run(context), shutdown, (run) => supervised.track(run)),
    );
    runnerLog.info(`run ended after ${emitted} outcomes`);
  } catch (error) {
    if (!(shutdown.stopped && error === shutdown.signal.reason)) {
      failure = reportFailure('run failed', error);
    }
  }
  // The run is over: the exit hook, the closes and the telemetry flush share one deadline.
  phase.step = 'closing';
  shutdown.beginShutdown();
  if (definition.exit !== undefined) {
    try {
      const finished = await runnerSpan('exit hook', {}, () => {
        const exiting = Promise.resolve().then(() => awaitEventually(definition.exit?.(context)));
        return finishedBeforeCutoff(exiting, shutdown);
      });
      if (finished) {
        runnerLog.info('exit hook done');
      } else {
        failure ??= ExitCode.runError;
        runnerLog.error(
          "exit hook did not finish before the stop's deadline; abandoned (exit code 1)",
        );
      }
    } catch (error) {
      failure ??= ExitCode.runError;
      runnerLog.error(`exit hook failed: ${describeError(error)}`, error);
    }
  }
  return failure;
}

/**
 * Logs a failure and resolves its exit code. A configuration error (a `PolicyError` from the
 * run, or from a connector or service factory, or a run that returned neither an Observable
 * nor a Promise) is one error line with its message, no stack, and exit code 2, whichever way
 * it arrives; anything else is logged with its stack, exit 1.
 */
function reportFailure(what: string, error: unknown): ExitCodeValue {
  if (error instanceof PolicyError || error instanceof RunResultError) {
    runnerLog.error(error.message);
    return ExitCode.configError;
  }
  if (error instanceof ResourceInitError && error.cause instanceof PolicyError) {
    runnerLog.error(`${error.message}: ${error.cause.message}`);
    return ExitCode.configError;
  }
  runnerLog.error(`${what}: ${describeError(error)}`, error);
  return ExitCode.runError;
}

function signalExitCode(shutdown: ShutdownSignals): ExitCodeValue {
  if (shutdown.received === 'SIGINT') return ExitCode.interrupted;
  if (shutdown.received === 'SIGTERM') return ExitCode.terminated;
  return ExitCode.success;
}

/** `telemetry` with the task's `logLevel` as its logs' level when it names none. */
function withLogLevel(telemetry: TelemetryConfigInput, level: LogLevelName): TelemetryConfigInput {
  if (telemetry.logs?.level !== undefined) return telemetry;
  return { ...telemetry, logs: { ...telemetry.logs, level } };
}
