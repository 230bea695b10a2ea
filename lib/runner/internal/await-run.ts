import { isObservable, type Observable, type Subscription } from 'rxjs';
import { RunResultError } from '../runner-errors.js';
import type { ShutdownSignals } from './shutdown-signals.js';

/** Whether `value` is a thenable. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Waits for a task's run to end: an Observable is subscribed until it completes or errors, a
 * Promise until it settles — and when the Promise resolves to an Observable (`run: async (ctx)
 * => consume(…)`), that Observable is subscribed in turn. Anything else a run returns (a
 * number, `undefined` from a function that forgot to return) rejects with
 * {@link RunResultError}. Once the stop is forced (a second signal, or the stop's deadline)
 * the Observable is unsubscribed (the engine cancels and releases in-flight work) and the
 * wait ends. `observe` may wrap the Observable (to count its outcomes). Resolves with the
 * number of values emitted.
 */
export function awaitRun(
  run: unknown,
  shutdown: ShutdownSignals,
  observe: (run: Observable<unknown>) => Observable<unknown> = (observable) => observable,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let emitted = 0;
    let done = false;
    let runSubscription: Subscription | undefined;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      forcedSubscription.unsubscribe();
      runSubscription?.unsubscribe();
      settle();
    };
    const subscribe = (observable: Observable<unknown>): void => {
      if (done) return;
      runSubscription = observe(observable).subscribe({
        next: () => {
          emitted++;
        },
        error: (error: unknown) => finish(() => reject(error)),
        complete: () => finish(() => resolve(emitted)),
      });
      if (done) runSubscription.unsubscribe();
    };
    const forcedSubscription = shutdown.forced$.subscribe(() => finish(() => resolve(emitted)));
    if (isObservable(run)) {
      subscribe(run);
    } else if (isPromiseLike(run)) {
      Promise.resolve(run).then(
        (value) => (isObservable(value) ? subscribe(value) : finish(() => resolve(emitted))),
        (error: unknown) => finish(() => reject(error)),
      );
    } else {
      finish(() => reject(new RunResultError(run)));
    }
  });
}
