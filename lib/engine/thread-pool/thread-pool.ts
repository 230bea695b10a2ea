import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import type { Transaction } from '../../core/transaction.js';
import type { AttemptInfo } from '../handler-context.js';
import { PoolThread, type ThreadOptions } from './pool-thread.js';
import type { ThreadRequest } from './thread-messages.js';
import { ThreadPoolClosedError } from './thread-errors.js';

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

/** How a {@link ThreadPool} is sized and its threads limited. */
export interface ThreadPoolOptions {
  /**
   * How many threads at most (default `os.availableParallelism() - 1`, at least 1). Threads
   * start on demand and are reused; calls wait in a queue while all are busy.
   */
  readonly size?: number;
  /** V8 heap limits of each thread (see `node:worker_threads` `ResourceLimits`). */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Node options of each thread (default: inherited from this process). Under tsx the pool
   * registers tsx in each thread itself, so `.ts` thread modules load there too.
   */
  readonly execArgv?: readonly string[];
}

/** One call of {@link ThreadPool.run}: queued, then running on a thread, then settled. */
interface PoolCall {
  readonly request: ThreadRequest;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  thread: PoolThread | undefined;
  settled: boolean;
}

/** What {@link ThreadPool.run} needs besides the function and the payload. */
export interface ThreadRunOptions {
  /** Aborting it cancels the call: removed from the queue, or its thread terminated. */
  readonly signal?: AbortSignal;
  /** Handed to the function as its second argument (default attempt 1, empty id). */
  readonly info?: ThreadCallInfo;
}

/** A consumer `process` handler that runs its work in a {@link ThreadPool}. */
export type ThreadHandler<P, R> = (transaction: Transaction<P>, context: AttemptInfo) => Promise<R>;

/** A snapshot of a pool's state. */
export interface ThreadPoolStats {
  /** Live threads (busy or idle). */
  readonly threads: number;
  /** Threads running a call. */
  readonly busy: number;
  /** Calls waiting for a thread. */
  readonly queued: number;
}

function defaultSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

function urlOf(moduleUrl: string | URL): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  return isAbsolute(moduleUrl) ? pathToFileURL(moduleUrl).href : moduleUrl;
}

/**
 * A pool of `node:worker_threads` threads for CPU-bound work. See {@link threadPool}.
 */
export class ThreadPool {
  /** The most threads this pool runs at once. */
  readonly size: number;
  private readonly threadOptions: ThreadOptions;
  private readonly threads = new Set<PoolThread>();
  private readonly idle: PoolThread[] = [];
  /** Calls waiting for a thread, in arrival order (a Set for O(1) removal on abort). */
  private readonly queue = new Set<PoolCall>();
  private readonly running = new Set<PoolCall>();
  private closed = false;

  constructor(options: ThreadPoolOptions = {}) {
    const size = options.size ?? defaultSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`thread pool size must be a positive integer, got ${size}`);
    }
    this.size = size;
    this.threadOptions = { resourceLimits: options.resourceLimits, execArgv: options.execArgv };
  }

  /** How many threads exist, run and wait right now. */
  get stats(): ThreadPoolStats {
    return { threads: this.threads.size, busy: this.running.size, queued: this.queue.size };
  }

  /**
   * Runs the export `exportName` of the module at `moduleUrl` in a thread with `payload`.
   * Rejects with the abort reason when `options.signal` aborts first (terminating the thread
   * if the call had started), with the thread's error when the function throws, and with
   * `ThreadPoolClosedError` after {@link close}.
   */
  run<R = unknown>(
    moduleUrl: string | URL,
    exportName: string,
    payload: unknown,
    options: ThreadRunOptions = {},
  ): Promise<R> {
    if (this.closed) return Promise.reject(new ThreadPoolClosedError());
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<R>((resolve, reject) => {
      const call: PoolCall = {
        request: {
          moduleUrl: urlOf(moduleUrl),
          exportName,
          payload,
          info: options.info ?? { attempt: 1, transactionId: '' },
        },
        resolve: (value) => resolve(value as R),
        reject,
        signal,
        onAbort: () => this.abort(call),
        thread: undefined,
        settled: false,
      };
      signal?.addEventListener('abort', call.onAbort, { once: true });
      this.queue.add(call);
      this.pump();
    });
  }

  /**
   * A consumer `process` handler running `exportName` of `moduleUrl` in this pool with the
   * transaction's payload; `context.signal` cancels it (so a `retry.timeout` terminates a
   * thread stuck in a synchronous loop).
   */
  handler<P = unknown, R = unknown>(
    moduleUrl: string | URL,
    exportName = 'default',
  ): ThreadHandler<P, R> {
    const url = urlOf(moduleUrl);
    return (transaction, context) =>
      this.run<R>(url, exportName, transaction.payload, {
        signal: context.signal,
        info: { attempt: context.attempt, transactionId: transaction.id },
      });
  }

  /**
   * Terminates every thread. Queued and running calls reject with `ThreadPoolClosedError`,
   * and so do later calls. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    const error = new ThreadPoolClosedError();
    for (const call of [...this.queue, ...this.running]) this.settle(call, false, error);
    const threads = [...this.threads];
    this.threads.clear();
    this.idle.length = 0;
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private pump(): void {
    for (const call of this.queue) {
      const thread = this.idle.pop() ?? this.spawn();
      if (thread === undefined) return;
      this.queue.delete(call);
      this.start(call, thread);
    }
  }

  private spawn(): PoolThread | undefined {
    if (this.closed || this.threads.size >= this.size) return undefined;
    const thread = new PoolThread(this.threadOptions, (gone) => this.forget(gone));
    this.threads.add(thread);
    return thread;
  }

  private start(call: PoolCall, thread: PoolThread): void {
    call.thread = thread;
    this.running.add(call);
    thread.run(call.request).then(
      (value) => this.finish(call, true, value),
      (error: unknown) => this.finish(call, false, error),
    );
  }

  private finish(call: PoolCall, ok: boolean, outcome: unknown): void {
    const thread = call.thread;
    this.settle(call, ok, outcome);
    if (thread !== undefined && thread.alive && !this.closed) this.idle.push(thread);
    this.pump();
  }

  private abort(call: PoolCall): void {
    if (call.settled) return;
    const reason: unknown = call.signal?.reason;
    const thread = call.thread;
    this.settle(call, false, reason);
    // The only way to stop a synchronous loop: terminate the thread; a new one starts on demand.
    if (thread !== undefined) void thread.terminate();
    this.pump();
  }

  private settle(call: PoolCall, ok: boolean, outcome: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.queue.delete(call);
    this.running.delete(call);
    call.signal?.removeEventListener('abort', call.onAbort);
    if (ok) call.resolve(outcome);
    else call.reject(outcome);
  }

  private forget(thread: PoolThread): void {
    this.threads.delete(thread);
    const index = this.idle.indexOf(thread);
    if (index >= 0) this.idle.splice(index, 1);
    if (!this.closed) this.pump();
  }
}

/**
 * Creates a pool of worker threads for CPU-bound `process` functions: a synchronous loop
 * there does not block the event loop, and a `retry.timeout` (or stop, or unsubscribe)
 * terminates the thread that runs it. Payloads and results cross by structured clone:
 * plain data only, no functions or class behaviour. The engine's `concurrency` should be at
 * least `size`, or threads stay idle. Call `close()` when done (idle threads do not keep
 * the process alive, but they hold memory).
 *
 * @example
 * ```ts
 * const pool = threadPool({ size: 4 });
 * const task = consumerTask({
 *   name: 'render',
 *   process: pool.handler<Scene, Image>(new URL('./render.js', import.meta.url), 'render'),
 * });
 * consume(connector, task, {
 *   loop: { concurrency: { value: 4 } },
 *   process: { retry: { timeout: '10s', maxAttempts: 2 } },
 * }).subscribe({ complete: () => void pool.close() });
 * ```
 */
export function threadPool(options: ThreadPoolOptions = {}): ThreadPool {
  return new ThreadPool(options);
}
