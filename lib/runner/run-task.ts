import cluster from 'node:cluster';
import type { Connector } from '../connector/connector.js';
import type { Logger } from '../core/logger.js';
import { describeError } from '../core/describe-error.js';
import { PolicyError } from '../core/policy-error.js';
import { getLogger } from '../telemetry/logging/get-logger.js';
import type { LoggingHandle } from '../telemetry/logging/configure-logging.js';
import type { TelemetryHandle } from '../telemetry/telemetry-handle.js';
import { awaitEventually } from './await-eventually.js';
import { awaitRun } from './await-run.js';
import { boundedWait } from './bounded-wait.js';
import {
  defineTask,
  type ConnectorFactories,
  type ServiceFactories,
  type TaskConfig,
  type TaskContextOf,
  type TaskDefinition,
  type TaskPolicies,
} from './define-task.js';
import { guardEscapedErrors } from './escaped-error-guard.js';
import { ExitCode, type ExitCodeValue } from './exit-code.js';
import { ResourceInitError } from './resource-init-error.js';
import { ResourceStack } from './resource-stack.js';
import { runnerSpan } from './runner-span.js';
import { ShutdownSignals } from './shutdown-signals.js';
import type { ResourceContext } from './task-context.js';
import { currentWorkerIdentity } from './worker-environment.js';
import { WorkerLiveness } from './worker-liveness.js';
import { isWorkerStopRequest } from './worker-messages.js';
import { WorkerPoolSupervisor } from './worker-pool-supervisor.js';

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
 * `init()` on each), runs the task until its Observable completes (or its Promise settles),
 * calls the `exit` hook, closes services then connectors in reverse creation order, flushes
 * and shuts telemetry down.
 *
 * The first SIGTERM/SIGINT emits `stop$` and aborts `signal`: a run that passes `stop$` to
 * `consume` stops fetching and drains; after `shutdownGrace`, or on a second signal, the run
 * is cancelled and closing continues with short timeouts.
 *
 * An error that escapes the task (`unhandledRejection`, `uncaughtException`) is logged and
 * stops the run the same graceful way, and the run then exits with code 1.
 *
 * Exit codes: 0 success, 1 run/factory/init/exit-hook error or escaped error, 2 invalid configuration
 * (`PolicyError`), 130 after SIGINT, 143 after SIGTERM.
 *
 * With `workers > 1`, the primary process runs a {@link WorkerPoolSupervisor} instead: it
 * forks N `node:cluster` workers that re-run the entry script, where `runTask` runs the task
 * single-process with `workerId` 1..N and reports heartbeats to the primary.
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
  const pool = identity === undefined ? poolDefinition(task) : undefined;
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
    const pooled = await supervisor.run(options.signals !== false);
    await logging?.shutdown().catch(() => undefined);
    if (options.exit === true) process.exit(pooled);
    return pooled;
  }
  const shutdown = new ShutdownSignals();
  const uninstall =
    options.signals === false ? undefined : installProcessHandlers(shutdown, runnerLog);
  const workerId = options.workerId ?? identity?.workerId ?? 0;
  const liveness = identity === undefined ? undefined : startLiveness(task, workerId, shutdown);
  let code: ExitCodeValue;
  try {
    code = await runLifecycle(task, shutdown, workerId, liveness);
  } finally {
    uninstall?.();
    liveness?.stop();
  }
  if (identity !== undefined && process.connected) process.disconnect();
  if (options.exit === true) process.exit(code);
  return code;
}

/** Signal and escaped-error handlers on `process`; returns the function that removes them. */
function installProcessHandlers(shutdown: ShutdownSignals, log: Logger): () => void {
  const unguard = guardEscapedErrors(shutdown, log);
  const unlisten = shutdown.install();
  return () => {
    unlisten();
    unguard();
  };
}

/**
 * In the primary of a pool, the task's logging configuration (level, format, sinks; its own
 * rotating files), so its lines (the health port, restarts) come out as the workers' do. The
 * exit code of a configuration error (logged once), `undefined` without telemetry.
 */
async function primaryLogging(
  definition: TaskDefinition,
): Promise<LoggingHandle | ExitCodeValue | undefined> {
  if (definition.telemetry === undefined) return undefined;
  try {
    const [{ configureLogging }, { telemetryConfig }] = await Promise.all([
      import('../telemetry/logging/configure-logging.js'),
      import('../telemetry/config/telemetry-config.js'),
    ]);
    const config = telemetryConfig(definition.telemetry, process.env);
    return configureLogging(config.logs, { writer: 'primary' });
  } catch (error) {
    return reportFailure('logging could not be set up', error);
  }
}

/** The definition when it asks for a worker pool and this is the primary process. */
function poolDefinition(task: unknown): TaskDefinition | undefined {
  if (!cluster.isPrimary) return undefined;
  try {
    const definition = defineTask(task as TaskConfig);
    return definition.workers > 1 ? definition : undefined;
  } catch {
    return undefined; // runLifecycle reports the configuration error
  }
}

/** In a forked worker: heartbeats to the primary, and its stop requests handled. */
function startLiveness(
  task: unknown,
  workerId: number,
  shutdown: ShutdownSignals,
): WorkerLiveness | undefined {
  let interval: number;
  try {
    interval = defineTask(task as TaskConfig).supervision.heartbeat;
  } catch {
    return undefined;
  }
  const liveness = new WorkerLiveness(workerId, interval, (heartbeat) => {
    if (process.connected) process.send?.(heartbeat);
  });
  process.on('message', (message: unknown) => {
    if (!isWorkerStopRequest(message)) return;
    if (message.force) shutdown.force();
    else if (!shutdown.stopped) shutdown.receive(message.signal);
  });
  shutdown.stop$.subscribe(() => liveness.stopping());
  liveness.start();
  return liveness;
}

async function runLifecycle<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
>(
  task: TaskDefinition<CF, SF, P> | TaskConfig<CF, SF, P>,
  shutdown: ShutdownSignals,
  workerId: number,
  liveness: WorkerLiveness | undefined,
): Promise<ExitCodeValue> {
  let definition: TaskDefinition<CF, SF, P>;
  let telemetry: TelemetryHandle | undefined;
  try {
    // Checked at run time (a PolicyError, exit 2) whatever the type of `policies`.
    definition = defineTask(task as TaskConfig) as TaskDefinition<CF, SF, P>;
    if (definition.telemetry !== undefined) {
      // Loaded only when asked for: the SDK packages are optional peers, so a task without
      // telemetry runs in an app that never installed them.
      const { setupTelemetry } = await import('../telemetry/setup-telemetry.js');
      // Each worker of a pool rotates log files of its own.
      const worker = currentWorkerIdentity();
      telemetry = setupTelemetry(definition.telemetry, {
        writer: worker === undefined ? undefined : `worker-${worker.workerId}`,
      });
    }
  } catch (error) {
    runnerLog.error(error instanceof PolicyError ? error.message : describeError(error));
    return error instanceof PolicyError ? ExitCode.configError : ExitCode.runError;
  }
  runnerLog.info(`task ${definition.name} starting (worker ${workerId})`);
  const logger = getLogger(definition.name);
  const resources = new ResourceStack(runnerLog, shutdown);
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
        liveness,
      );
      await resources.closeAll(definition.shutdownGrace);
      if (failure !== undefined) return failure;
      return shutdown.failure !== undefined ? ExitCode.runError : signalExitCode(shutdown);
    },
  );
  runnerLog.info(`task ${definition.name} finished with exit code ${code}`);
  if (telemetry !== undefined)
    await shutDownTelemetry(telemetry, shutdown, definition.shutdownGrace);
  return code;
}

/**
 * Flushes and shuts telemetry down within `grace` (a second, once the stop is forced); past
 * that, drops what the collector did not take, so it cannot keep the process alive.
 */
async function shutDownTelemetry(
  telemetry: TelemetryHandle,
  shutdown: ShutdownSignals,
  grace: number,
): Promise<void> {
  try {
    if (await boundedWait(telemetry.shutdown(), shutdown, grace)) return;
    telemetry.abandon();
    console.error('telemetry shutdown abandoned: the collector did not answer in time');
  } catch (error) {
    console.error(`telemetry shutdown failed: ${describeError(error)}`);
  }
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
  liveness: WorkerLiveness | undefined,
): Promise<ExitCodeValue | undefined> {
  const base: ResourceContext<P> = {
    name: definition.name,
    workerId,
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
      liveness?.instrumentConnector(connector as Connector);
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
    return reportFailure('task could not start', error);
  }
  if (shutdown.stopped) {
    runnerLog.info('stopped before the run started');
    return undefined;
  }
  let failure: ExitCodeValue | undefined;
  try {
    runnerLog.info('run started');
    const emitted = await runnerSpan('run', {}, () => {
      const run = definition.run(context);
      return awaitRun(
        liveness === undefined ? run : liveness.track(run),
        shutdown,
        definition.shutdownGrace,
        runnerLog,
      );
    });
    runnerLog.info(`run ended after ${emitted} outcomes`);
  } catch (error) {
    if (!(shutdown.stopped && error === shutdown.signal.reason)) {
      failure = reportFailure('run failed', error);
    }
  }
  if (definition.exit !== undefined) {
    try {
      await runnerSpan('exit hook', {}, () => {
        const exiting = Promise.resolve().then(() => awaitEventually(definition.exit?.(context)));
        return boundedWait(exiting, shutdown, definition.shutdownGrace);
      });
      runnerLog.info('exit hook done');
    } catch (error) {
      failure ??= ExitCode.runError;
      runnerLog.error(`exit hook failed: ${describeError(error)}`, error);
    }
  }
  return failure;
}

/**
 * Logs a failure and resolves its exit code. A configuration error (a `PolicyError` from the
 * run, or from a connector or service factory) is one error line with its message, no stack,
 * and exit code 2, whichever way it arrives; anything else is logged with its stack, exit 1.
 */
function reportFailure(what: string, error: unknown): ExitCodeValue {
  if (error instanceof PolicyError) {
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
