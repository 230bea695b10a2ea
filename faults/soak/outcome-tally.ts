import type { Outcome, OutcomeStatus } from '../../lib/index.js';

/**
 * Counts a consumer's outcomes by status, and the redeliveries among them, in constant memory
 * (the soak must not grow because of its own bookkeeping).
 */
export class OutcomeTally {
  private readonly statuses: Record<OutcomeStatus, number> = {
    success: 0,
    exception: 0,
    failed: 0,
    timeout: 0,
    released: 0,
  };
  private redeliveries = 0;

  /** Transactions settled for good: every outcome but `released` (those come back). */
  get settled(): number {
    return (
      this.statuses.success + this.statuses.exception + this.statuses.failed + this.statuses.timeout
    );
  }

  get redelivered(): number {
    return this.redeliveries;
  }

  count(outcome: Outcome): void {
    this.statuses[outcome.status]++;
    if (outcome.transaction.metadata['redelivered'] === true) this.redeliveries++;
  }

  of(status: OutcomeStatus): number {
    return this.statuses[status];
  }
}
