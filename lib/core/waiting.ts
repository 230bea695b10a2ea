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
    Promise.resolve(promise).catch(() => undefined);
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
        reject(error as Error);
      },
    );
  });
}
