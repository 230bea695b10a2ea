import { ReplaySubject, type Observable } from 'rxjs';

/** The signals a runner stops on. */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/**
 * The stop state of one task run: the first SIGTERM/SIGINT, or an error that escaped the
 * task ({@link ShutdownSignals.fail}), asks for a graceful stop (`stop$` emits, `signal`
 * aborts); a later signal, or an expired grace, forces it (`forced$`).
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
  private readonly stopSubject = new ReplaySubject<void>(1);
  private readonly forcedSubject = new ReplaySubject<void>(1);
  private readonly abort = new AbortController();

  constructor() {
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

  /** Handles a signal: the first stop request is graceful, any later signal forces the stop. */
  receive(signal: ShutdownSignal): void {
    if (this.stopped) {
      this.force();
      return;
    }
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

  /** Forces the stop: the run is cancelled and closing goes on with short timeouts. */
  force(): void {
    if (this.forced) return;
    this.forced = true;
    this.forcedSubject.next();
    this.forcedSubject.complete();
  }

  private requestStop(reason: Error): void {
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
