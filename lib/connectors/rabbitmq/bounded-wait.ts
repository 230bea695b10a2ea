/**
 * Waits for `promise` to settle, but at most `ms` milliseconds; when the time runs out first,
 * calls `onTimeout` and resolves anyway. Never rejects: for teardown steps (closing a channel
 * or a connection) that must not hold a `close()` up.
 *
 * @example
 * ```ts
 * await boundedWait(channel.close(), 1000, () => logger.warn('channel close abandoned'));
 * ```
 */
export async function boundedWait(
  promise: Promise<unknown>,
  ms: number,
  onTimeout: () => void = () => undefined,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  const finished = promise.then(
    () => false,
    () => false,
  );
  const timedOut = await Promise.race([finished, expired]);
  clearTimeout(timer);
  if (timedOut) onTimeout();
}
