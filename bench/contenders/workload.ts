/**
 * What each transaction's handler does, as data (so a parent process can hand it to the child
 * that runs the contender):
 * - `no-op`: an `async` function that returns at once (pure framework overhead);
 * - `timer`: waits `ms` like an I/O call; every `slowEvery`-th transaction waits `slowMs`;
 * - `fail-once`: every `every`-th transaction throws on its first attempt, succeeds on the next.
 */
export type Workload =
  | { readonly kind: 'no-op' }
  | {
      readonly kind: 'timer';
      readonly ms: number;
      readonly slowEvery?: number;
      readonly slowMs?: number;
    }
  | { readonly kind: 'fail-once'; readonly every: number };

/** A handler for transaction number `n` on its `attempt`-th attempt (1-based). */
export type WorkloadHandler = (n: number, attempt: number) => Promise<void>;

const noop = async (): Promise<void> => {};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The handler that performs `workload`. */
export function workloadHandler(workload: Workload): WorkloadHandler {
  switch (workload.kind) {
    case 'no-op':
      return noop;
    case 'timer': {
      const { ms, slowEvery, slowMs } = workload;
      if (slowEvery === undefined || slowMs === undefined) return () => sleep(ms);
      return (n) => sleep(n % slowEvery === 0 ? slowMs : ms);
    }
    case 'fail-once': {
      const { every } = workload;
      return async (n, attempt) => {
        if (attempt === 1 && n % every === 0) throw new Error(`transaction ${n} fails once`);
      };
    }
  }
}

/**
 * `handler` for a baseline without a retry policy of its own: a plain retry loop (no backoff)
 * of at most `maxAttempts` attempts, or the bare first attempt when there is only one.
 */
export function withRetries(
  handler: WorkloadHandler,
  maxAttempts: number,
): (n: number) => Promise<void> {
  if (maxAttempts <= 1) return (n) => handler(n, 1);
  return async (n) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(n, attempt);
        return;
      } catch (error) {
        if (attempt >= maxAttempts) throw error;
      }
    }
  };
}
