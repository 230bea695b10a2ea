/**
 * Waiting with a bound, in real time: the one `sleep`, the one "wait at most N ms" and the one
 * "give up when the caller aborts" of the library, for connectors and the platform layer. The
 * engine does not use them: its time goes through the engine clock's RxJS scheduler, so that a
 * pipeline can run in virtual time.
 */

/**
 * Does nothing. The handler for a best-effort step whose failure is ignored on purpose:
 * `promise.catch(noop)` (one shared function rather than a closure per call).
 */
export function noop(): void {}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Ends the wait early: the sleep rejects with `signal.reason` (at once when it already aborted). */
  readonly signal?: AbortSignal;
  /**
   * `true`: the timer does not keep node alive on its own (for a pause that may outlive the
   * work it belongs to). Default `false`: a retry pause must hold the process up, or node
   * exits in the middle of a run that is only waiting.
   */
  readonly unref?: boolean;
}

/**
 * Resolves after `ms` milliseconds, or rejects with the reason of `options.signal` as soon as
 * it aborts (the timer is then cleared).
 *
 * @example
 * ```ts
 * await sleep(backoffDelay(retry, failures++), { signal: closing.signal }).catch(noop);
 * ```
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, unref = false } = options;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const aborted = (): void => {
      clearTimeout(timer);
      reject((signal as AbortSignal).reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

/**
 * Waits for `promise` to settle, ignoring its failure, but at most `ms` milliseconds: for the
 * best-effort steps of a close that must stay prompt (a flush, a channel close, a drain).
 * Resolves `true` when `promise` settled in time, `false` when the time ran out first; never
 * rejects. The timer is cleared as soon as `promise` settles, so it holds node up only while
 * the step is still pending.
 *
 * @example
 * ```ts
 * if (!(await waitAtMost(channel.close(), 1000))) socket.destroy();
 * ```
 */
export async function waitAtMost(promise: PromiseLike<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = Promise.resolve(promise).then(
    () => true as const,
    () => true as const,
  );
  const inTime = await Promise.race([settled, expired]);
  clearTimeout(timer);
  return inTime;
}

/**
 * Settles as `promise` does, or rejects with `signal.reason` as soon as `signal` aborts,
 * whichever comes first (at once when it already aborted). The work behind `promise` goes on:
 * use it for waits whose result no longer matters once the caller gave up (a connection, a
 * drain, a declaration), never for something that sends. A late rejection of `promise` is
 * swallowed once the abort won.
 *
 * @example
 * ```ts
 * const publisher = await abortable(service.confirmPublisher(), context?.signal);
 * ```
 */
export function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return Promise.resolve(promise);
  if (signal.aborted) {
    Promise.resolve(promise).catch(noop);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
