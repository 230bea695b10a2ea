import { ReplaySubject, type Observable } from 'rxjs';
import type { Logger } from '../../core/logging.js';
import { EscapedError, type EscapeRoute } from '../runner-errors.js';

/** The signals a runner stops on. */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** How long the closing steps left may still take, together, once the stop is forced. */
const FORCED_STOP_TIMEOUT = 1000;

/**
 * The stop state of one task run: the first SIGTERM/SIGINT, or an error that escaped the
 * task ({@link ShutdownSignals.fail}), asks for a graceful stop (`stop$` emits, `signal`
 * aborts); a second signal, or the end of the grace, forces it (`forced$`).
 *
 * A stop has one deadline ({@link ShutdownSignals.cutoff}): `grace` ms after the stop
 * request (or after the run ended on its own) for the whole of it — drain, exit hook,
 * closes, telemetry flush — and once forced, {@link FORCED_STOP_TIMEOUT} more for whatever
 * closing is left, all steps together.
 *
 * In a worker process one operator action reaches the worker twice — the primary's stop
 * request over IPC and, with a process-group signal (Ctrl-C in a terminal, a container
 * stop), the signal itself: {@link ShutdownSignals.requestFromPrimary} and the first
 * {@link ShutdownSignals.receive} count as one stop; only a second signal to this process,
 * or the primary's force request, forces it.
 */
export class ShutdownSignals {
  /** Emits once on the first stop request, then completes; replays to late subscribers. */
  readonly stop$: Observable<void>;
  /** Emits once when the stop is forced, then completes; replays to late subscribers. */
  readonly forced$: Observable<void>;
  /** The signal that stopped the run, if any. */
  received: ShutdownSignal | undefined;
  /** The first error that escaped the task, if any: the run then ends with exit code 1. */
  failure: Error | undefined;
  forced = false;
  /** Why the stop was forced: a second signal (or the primary's force request), or the grace ran out. */
  forcedBy: 'signal' | 'grace' | undefined;
  private grace: number;
  private signals = 0;
  private deadline: number | undefined;
  private forcedCutoff: number | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly stopSubject = new ReplaySubject<void>(1);
  private readonly forcedSubject = new ReplaySubject<void>(1);
  private readonly abort = new AbortController();

  /** @param grace How long the whole stop may take (ms); {@link setGrace} changes it before the stop. */
  constructor(grace: number) {
    this.grace = grace;
    this.stop$ = this.stopSubject.asObservable();
    this.forced$ = this.forcedSubject.asObservable();
  }

  /** Aborts on the first stop request. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get stopped(): boolean {
    return this.received !== undefined || this.failure !== undefined;
  }

  /** The grace of the stop, in ms. */
  get graceMs(): number {
    return this.grace;
  }

  /** Sets the grace once the task definition is known (no effect once the deadline runs). */
  setGrace(grace: number): void {
    if (this.deadline === undefined) this.grace = grace;
  }

  /**
   * A signal this process received: the first stop request is graceful; a second signal
   * forces the stop, and so does a first one when the run was stopping for another reason
   * than a signal (an escaped error, a lost primary).
   */
  receive(signal: ShutdownSignal): void {
    this.signals++;
    if (!this.stopped) {
      this.received = signal;
      this.requestStop(new Error(`stopped by ${signal}`));
    } else if (this.signals > 1 || this.received === undefined) {
      this.force('signal');
    }
  }

  /**
   * The primary's stop request, forwarding a signal it received: stops the run once; a
   * repeated request (resent with a heartbeat) or this process's own copy of the same
   * signal never forces it.
   */
  requestFromPrimary(signal: ShutdownSignal): void {
    if (this.stopped) return;
    this.received = signal;
    this.requestStop(new Error(`stopped by ${signal}`));
  }

  /**
   * Records an error that escaped the task; the first one stops the run gracefully, as a
   * signal would (later ones neither force the stop nor replace the first).
   */
  fail(error: Error): void {
    if (this.failure !== undefined) return;
    const first = !this.stopped;
    this.failure = error;
    if (first) this.requestStop(error);
  }

  /**
   * Starts the deadline of the stop, `grace` ms from now, if it has not started yet: done by
   * the first stop request, and by the runner when the run ended on its own (the exit hook,
   * closes and telemetry flush then share the grace). When it expires the stop is forced.
   */
  beginShutdown(): void {
    if (this.deadline !== undefined) return;
    this.deadline = performance.now() + this.grace;
    this.deadlineTimer = setTimeout(() => this.force('grace'), this.grace);
    this.deadlineTimer.unref();
  }

  /**
   * When the step under way must be abandoned, in `performance.now()` time: never before the
   * stop began, the deadline during it, and {@link FORCED_STOP_TIMEOUT} after the stop was
   * forced (whatever closing is left shares that time).
   */
  cutoff(): number {
    return this.forcedCutoff ?? this.deadline ?? Number.POSITIVE_INFINITY;
  }

  /** Milliseconds until {@link cutoff} (0 once past it, `Infinity` before any stop). */
  remaining(): number {
    return Math.max(0, this.cutoff() - performance.now());
  }

  /** Forces the stop: the run is cancelled and closing goes on for at most 1 s. */
  force(by: 'signal' | 'grace' = 'signal'): void {
    if (this.forced) return;
    this.forced = true;
    this.forcedBy = by;
    this.forcedCutoff = performance.now() + FORCED_STOP_TIMEOUT;
    clearTimeout(this.deadlineTimer);
    this.forcedSubject.next();
    this.forcedSubject.complete();
  }

  /** Clears the deadline's timer (the run is over). */
  dispose(): void {
    clearTimeout(this.deadlineTimer);
  }

  private requestStop(reason: Error): void {
    this.beginShutdown();
    this.abort.abort(reason);
    this.stopSubject.next();
    this.stopSubject.complete();
  }

  /** Listens to SIGTERM and SIGINT on `process`; returns the function that stops listening. */
  install(): () => void {
    const onTerm = (): void => this.receive('SIGTERM');
    const onInt = (): void => this.receive('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    return () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    };
  }
}

/** Escaped errors logged per run; a flood past this is counted, not written. */
const MAX_LOGGED_ESCAPES = 10;

/**
 * Listens to `unhandledRejection` and `uncaughtException` on `process` for the length of a
 * run: each escaped error is logged with its stack (the first {@link MAX_LOGGED_ESCAPES}), and
 * the first one stops the run gracefully (see {@link ShutdownSignals.fail}) so that in-flight
 * transactions drain or are released instead of dying with the process.
 *
 * Write errors on the process's own stdout and stderr (`EPIPE` once the reader went away) are
 * ignored meanwhile: they are not the task's errors, and logging them to the broken stream would
 * raise them again, for ever. Returns the function that stops listening.
 */
export function guardEscapedErrors(shutdown: ShutdownSignals, log: Logger): () => void {
  let logged = 0;
  const escaped = (route: EscapeRoute, cause: unknown): void => {
    const error = new EscapedError(route, cause);
    if (logged < MAX_LOGGED_ESCAPES) {
      logged++;
      const next = shutdown.stopped
        ? 'the run is already stopping'
        : 'stopping the run: in-flight work drains, the rest is released, then exit code 1';
      const more = logged === MAX_LOGGED_ESCAPES ? '; further escaped errors are not logged' : '';
      log.error(`${error.message}; ${next}${more}`, cause);
    }
    shutdown.fail(error);
  };
  const onRejection = (reason: unknown): void => escaped('unhandledRejection', reason);
  const onException = (error: unknown): void => escaped('uncaughtException', error);
  const onStdioError = (): void => undefined;
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.stdout.on('error', onStdioError);
  process.stderr.on('error', onStdioError);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.stdout.off('error', onStdioError);
    process.stderr.off('error', onStdioError);
  };
}

/**
 * Waits for `work` until the stop's {@link ShutdownSignals.cutoff}: without limit before any
 * stop (a connector still connecting), until the one deadline of the stop once it began,
 * and for what is left of the forced-stop time once it was forced. Resolves `true` when
 * `work` settled in time (its rejection propagates), `false` when it was abandoned. Work
 * already past the cutoff still gets one turn of the event loop (a close that is done at
 * once is not reported abandoned).
 */
export function finishedBeforeCutoff(
  work: Promise<unknown>,
  shutdown: ShutdownSignals,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      const remaining = shutdown.remaining();
      if (remaining !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => finish(() => resolve(false)), remaining);
      }
    };
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      stopped.unsubscribe();
      forced.unsubscribe();
      settle();
    };
    const stopped = shutdown.stop$.subscribe(arm);
    const forced = shutdown.forced$.subscribe(arm);
    arm();
    work.then(
      () => finish(() => resolve(true)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
