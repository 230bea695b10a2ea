import type { ShutdownSignals } from './internal/shutdown-signals.js';

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
