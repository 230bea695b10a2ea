/**
 * Waits for `promise` to settle, ignoring its failure, but at most `milliseconds`: for the
 * best-effort steps of a close that must stay prompt.
 *
 * @example
 * ```ts
 * await waitAtMost(connection.flush(), 1000);
 * ```
 */
export async function waitAtMost(promise: Promise<unknown>, milliseconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, milliseconds);
    }),
  ]);
  clearTimeout(timer);
}
