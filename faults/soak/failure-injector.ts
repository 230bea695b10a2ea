/** The error a {@link FailureInjector} throws: an ordinary, retryable handler failure. */
class InjectedFailure extends Error {
  override readonly name = 'InjectedFailure';
}

/**
 * Makes a share of handler attempts fail at random, as a flaky downstream would, and counts
 * how many it failed.
 *
 * @example
 * ```ts
 * const failures = new FailureInjector(0.01);
 * const task = consumerTask({ process: (tx) => { failures.strike(tx.id); return work(tx); } });
 * ```
 */
export class FailureInjector {
  private injections = 0;

  constructor(
    readonly rate: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts failed so far. */
  get injected(): number {
    return this.injections;
  }

  /** Throws an {@link InjectedFailure} with probability `rate`. */
  strike(transactionId: string): void {
    if (this.random() >= this.rate) return;
    this.injections++;
    throw new InjectedFailure(`injected failure of transaction ${transactionId}`);
  }
}
