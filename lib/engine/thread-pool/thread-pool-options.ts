import type { ResourceLimits } from 'node:worker_threads';

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
