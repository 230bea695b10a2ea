import { describeError, describeValue } from '../core/renderers.js';
import { ErgonError } from '../core/errors.js';

/**
 * The exit codes `runTask` resolves with: `success` (0), `runError` (1: the run, a factory, an
 * `init` or the exit hook failed), `configError` (2: the task configuration was invalid),
 * `interrupted` (130 = 128 + SIGINT) and `terminated` (143 = 128 + SIGTERM).
 *
 * @example
 * ```ts
 * const code = await runTask(task);
 * if (code === ExitCode.terminated) console.log('stopped by SIGTERM');
 * ```
 */
export const ExitCode = {
  success: 0,
  runError: 1,
  configError: 2,
  interrupted: 130,
  terminated: 143,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A connector or service of a task could not be created: its factory or its `init()` threw.
 * `runTask` closes what it created before, in reverse order, never runs the task and exits
 * with code 1.
 */
export class ResourceInitError extends ErgonError {
  /** `connector` or `service`. */
  readonly kind: string;
  /** The resource's name in the task configuration. */
  readonly resource: string;
  constructor(kind: string, resource: string, cause: unknown) {
    super(`${kind} "${resource}" failed to start`, { cause });
    this.kind = kind;
    this.resource = resource;
  }
}

/**
 * The run was stopped (SIGTERM/SIGINT) while a connector or service was still starting: its
 * factory or `init()` got the abort through its `signal`, and either gave up (`cause`) or did
 * not return before the stop's deadline (`abandoned`). `runTask` closes what it created, never
 * runs the task, and resolves 143/130 as for any stop.
 */
export class StartupCancelledError extends ErgonError {
  /** `connector` or `service`. */
  readonly kind: string;
  /** The resource's name in the task configuration. */
  readonly resource: string;
  /** `factory` or `init()`. */
  readonly step: string;
  /** The step did not return in time and was left behind. */
  readonly abandoned: boolean;
  constructor(kind: string, resource: string, step: string, abandoned: boolean, cause?: unknown) {
    super(
      abandoned
        ? `${kind} "${resource}": its ${step} had not returned when the stop's deadline passed; abandoned`
        : `${kind} "${resource}": its ${step} gave up after the stop request`,
      { cause },
    );
    this.kind = kind;
    this.resource = resource;
    this.step = step;
    this.abandoned = abandoned;
  }
}

/**
 * A task's `run` returned something `runTask` cannot wait for: neither an Observable nor a
 * Promise (for instance `42`, or `undefined` from a function that subscribed itself and
 * forgot to return). The run is treated as a configuration error: the exit hook and closes
 * still run, then `runTask` resolves exit code 2.
 *
 * @example
 * ```ts
 * log.error(new RunResultError(42).message);
 * ```
 */
export class RunResultError extends ErgonError {
  constructor(returned: unknown) {
    super(
      `the task's run returned ${returned === undefined ? 'undefined' : describeValue(returned)}, ` +
        'which the runner cannot wait for: return the Observable of outcomes (e.g. ' +
        '`run: (ctx) => consume(…)`, not subscribed) or a Promise that settles when the run is done',
    );
  }
}

/**
 * How an error got past every handler: a rejected promise nobody awaited
 * (`unhandledRejection`), or an exception thrown where no caller could catch it, such as a
 * `setTimeout` callback (`uncaughtException`).
 */
export type EscapeRoute = 'unhandledRejection' | 'uncaughtException';

/**
 * An error that escaped the task's code and the engine (the original is the `cause`).
 * `runTask` logs it, stops the run as a SIGTERM would (in-flight work drains within the
 * grace, unstarted work is released for redelivery) and exits with code 1.
 */
export class EscapedError extends ErgonError {
  readonly route: EscapeRoute;
  constructor(route: EscapeRoute, cause: unknown) {
    const how =
      route === 'unhandledRejection'
        ? 'a promise rejected and nothing handled it'
        : 'an exception was thrown outside any handler';
    super(`${how} (${route}): ${describeError(cause)}`, { cause });
    this.route = route;
  }
}

/**
 * A worker process lost its IPC channel to the primary in the middle of its run (the
 * primary was killed, or the channel was closed). The worker stops the way SIGTERM stops it
 * (in-flight work drains within the grace, the rest is released, the exit hook and closes
 * run) and exits with code 1, so that a primary still alive restarts it.
 */
export class PrimaryLostError extends ErgonError {
  readonly workerId: number;
  constructor(workerId: number) {
    super(
      `worker ${workerId} lost its channel to the primary process (killed, or the channel ` +
        'closed); stopping: in-flight work drains, the rest is released, then exit code 1',
    );
    this.workerId = workerId;
  }
}

/**
 * A worker process died unexpectedly more often than `supervision.restart.maxRestarts`
 * allows: the primary stops the other workers and `runTask` resolves exit code 1.
 *
 * @example
 * ```ts
 * log.error(new WorkerRestartLimitError(2, 5, 'exit code 1').message);
 * ```
 */
export class WorkerRestartLimitError extends ErgonError {
  readonly workerId: number;
  readonly restarts: number;
  constructor(workerId: number, restarts: number, lastExit: string) {
    super(`worker ${workerId} failed for good after ${restarts} restarts (last: ${lastExit})`);
    this.workerId = workerId;
    this.restarts = restarts;
  }
}

/** Why the primary killed a worker: no heartbeat (`wedged`) or no progress (`stalled`). */
export type WorkerUnhealthyReason = 'wedged' | 'stalled';

/**
 * The primary killed a worker (SIGKILL) because its event loop stopped sending heartbeats
 * for `supervision.wedgedAfter`, or because it had in-flight work and made no progress for
 * `supervision.stalledAfter`. The worker is then replaced like one that died.
 *
 * @example
 * ```ts
 * log.error(new WorkerUnhealthyError(1, 'wedged', 'no heartbeat for 10000 ms').message);
 * ```
 */
export class WorkerUnhealthyError extends ErgonError {
  readonly workerId: number;
  readonly reason: WorkerUnhealthyReason;
  constructor(workerId: number, reason: WorkerUnhealthyReason, detail: string) {
    super(`worker ${workerId} is ${reason} (${detail}); killing it`);
    this.workerId = workerId;
    this.reason = reason;
  }
}

/**
 * The health endpoints (`supervision.http`) or the dashboard (`dashboard`) could not listen on
 * their address (the port is taken, the host is not this machine's): the run does not start,
 * and `runTask` resolves exit code 1.
 *
 * @example
 * ```ts
 * log.error(new EndpointListenError('dashboard', '127.0.0.1', 9400, new Error('EADDRINUSE')).message);
 * ```
 */
export class EndpointListenError extends ErgonError {
  /** `supervision.http` or `dashboard`. */
  readonly setting: string;
  constructor(setting: string, host: string, port: number, cause: unknown) {
    super(
      `${setting} could not listen on ${host}:${port} (${describeError(cause)}); choose another ` +
        `${setting}.port (0: any free port) or stop what holds it`,
      { cause },
    );
    this.setting = setting;
  }
}
