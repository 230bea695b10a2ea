import type { ShutdownSignals } from './shutdown-signals.js';

/** How long one closing step may still take once the stop is forced. */
export const FORCED_STEP_TIMEOUT = 1000;

/**
 * Waits for `work` at most `timeout` ms, and at most {@link FORCED_STEP_TIMEOUT} ms once the
 * stop is forced. Resolves `true` when `work` settled in time (its rejection propagates),
 * `false` when it was abandoned.
 */
export function boundedWait(
  work: Promise<unknown>,
  shutdown: ShutdownSignals,
  timeout: number,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    const giveUp = (): void => finish(() => resolve(false));
    const finish = (settle: () => void): void => {
      timers.forEach(clearTimeout);
      subscription.unsubscribe();
      settle();
    };
    timers.push(setTimeout(giveUp, timeout));
    const subscription = shutdown.forced$.subscribe(() => {
      timers.push(setTimeout(giveUp, FORCED_STEP_TIMEOUT));
    });
    work.then(
      () => finish(() => resolve(true)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
