/**
 * A counter of wake-ups (NOTIFYs on one channel, listener reconnects) that fetches wait on.
 * A fetch reads {@link WakeSignal.sequence} before it looks for rows and waits only for a
 * wake-up after that, so a NOTIFY that arrives between "found nothing" and "start waiting"
 * is never missed.
 *
 * @example
 * ```ts
 * const seen = wake.sequence;
 * if ((await claim()).length === 0) await wake.wait(seen, 1000, signal);
 * ```
 */
export class WakeSignal {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  /** How many wake-ups there were so far. */
  get sequence(): number {
    return this.count;
  }

  /** Wakes every waiter. */
  wake(): void {
    this.count++;
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  /**
   * Resolves `true` at the first wake-up after `since` (at once if there was one already),
   * `false` after `timeout` ms or when `signal` aborts. Never rejects.
   */
  wait(since: number, timeout: number, signal: AbortSignal): Promise<boolean> {
    if (this.count !== since) return Promise.resolve(true);
    if (signal.aborted || timeout <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(onWake);
        resolve(woken);
      };
      const onWake = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(done, timeout, false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(onWake);
    });
  }
}
