/**
 * What a thread function receives besides the payload. Plain data only: it crosses into the
 * thread by structured clone (an `AbortSignal` cannot; cancellation terminates the thread).
 */
export interface ThreadCallInfo {
  /** 1-based number of the attempt that made this call. */
  readonly attempt: number;
  /** The id of the transaction being processed. */
  readonly transactionId: string;
}

/**
 * The shape of a function a {@link ThreadPool} runs: a named export of a module, synchronous
 * or async. Its payload and result cross threads by structured clone, so they must be plain
 * data (no functions, no class instances with behaviour).
 *
 * @example
 * ```ts
 * // cpu.ts, loaded inside the pool's threads
 * export function fib(n: number, _info: ThreadCallInfo): number {
 *   return n < 2 ? n : fib(n - 1, _info) + fib(n - 2, _info);
 * }
 * ```
 */
export type ThreadFunction<P = unknown, R = unknown> = (
  payload: P,
  info: ThreadCallInfo,
) => R | PromiseLike<R>;
