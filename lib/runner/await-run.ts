import { isObservable, type Observable, type Subscription } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { ShutdownSignals } from './shutdown-signals.js';

/**
 * Waits for a task's run to end: an Observable is subscribed until it completes or errors, a
 * Promise until it settles. After the first stop request the run has `grace` ms to drain;
 * then, or on a second signal, the stop is forced and the Observable is unsubscribed (the
 * engine cancels and releases in-flight work). Resolves with the number of values emitted.
 */
export function awaitRun(
  run: Observable<unknown> | PromiseLike<unknown>,
  shutdown: ShutdownSignals,
  grace: number,
  log: Logger,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let emitted = 0;
    let done = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let runSubscription: Subscription | undefined;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(graceTimer);
      stopSubscription.unsubscribe();
      forcedSubscription.unsubscribe();
      runSubscription?.unsubscribe();
      settle();
    };
    const stopSubscription = shutdown.stop$.subscribe(() => {
      const why = shutdown.received ?? shutdown.failure?.name ?? 'stop';
      log.info(`stop requested (${why}); draining for ${grace} ms`);
      graceTimer = setTimeout(() => {
        log.warn('shutdown grace expired; cancelling the run');
        shutdown.force();
      }, grace);
    });
    const forcedSubscription = shutdown.forced$.subscribe(() => {
      log.warn('stop forced; cancelling the run');
      finish(() => resolve(emitted));
    });
    if (isObservable(run)) {
      runSubscription = run.subscribe({
        next: () => void emitted++,
        error: (error: unknown) => finish(() => reject(error)),
        complete: () => finish(() => resolve(emitted)),
      });
      if (done) runSubscription.unsubscribe();
    } else {
      Promise.resolve(run).then(
        () => finish(() => resolve(emitted)),
        (error: unknown) => finish(() => reject(error)),
      );
    }
  });
}
