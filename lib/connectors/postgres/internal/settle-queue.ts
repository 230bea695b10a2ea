import type pg from 'pg';
import { DeliveryLostError, type TransactionError } from '../../../core/errors.js';
import { describeError } from '../../../core/renderers.js';
import type { PostgresService } from '../postgres-service.js';
import { leaseKeys, type QueueLease } from './queue-row.js';
import type { LeaseKeys, QueueStatements } from './queue-statements.js';
import { isTransientPostgresError } from '../errors.js';

interface PendingSettle {
  readonly lease: QueueLease;
  /** A release's delay in milliseconds. */
  readonly delay: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly error: TransactionError | undefined;
}

interface SettledRow {
  readonly id: string;
  readonly deliveries: number;
}

/**
 * What a settle statement returns: the rows it `settled` (id and delivery count), or the
 * ids of the rows it found `lost` (no longer leased to this consumer).
 */
type SettleResult = 'settled' | 'lost';

/**
 * Settles leases in batches: every ack, release and dead-letter asked for in the same turn of
 * the event loop goes out as one statement per kind (a concurrency-100 consumer settles with
 * a handful of statements instead of a hundred round trips). Each settlement resolves when its
 * row was settled, and rejects with `DeliveryLostError` when the row was no longer leased to
 * this consumer (the lease expired and someone claimed it again) or could not be reached
 * before the lease ran out (the row is redelivered then).
 */
export class SettleQueue {
  private acks: PendingSettle[] = [];
  private releases: PendingSettle[] = [];
  private deadLetters: PendingSettle[] = [];
  private scheduled = false;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly service: PostgresService,
    private readonly statements: QueueStatements,
    private readonly owner: string,
  ) {}

  ack(lease: QueueLease): Promise<void> {
    return this.enqueue(this.acks, lease, undefined, 0);
  }

  /** Clears the lease; the row is available again after `delay` ms. */
  release(lease: QueueLease, delay: number): Promise<void> {
    return this.enqueue(this.releases, lease, undefined, delay);
  }

  deadLetter(lease: QueueLease, error: TransactionError): Promise<void> {
    return this.enqueue(this.deadLetters, lease, error, 0);
  }

  /**
   * Sends what is queued at the end of the current microtask burst instead of the next turn of
   * the event loop: for when no other settlement can join the batch (nothing else is held).
   */
  flushSoon(): void {
    if (this.acks.length + this.releases.length + this.deadLetters.length === 0) return;
    queueMicrotask(() => this.flush());
  }

  /** Sends what is queued now and waits for every statement still running. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.running);
  }

  private enqueue(
    list: PendingSettle[],
    lease: QueueLease,
    error: TransactionError | undefined,
    delay: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      list.push({ lease, delay, resolve, reject, error });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const { acks, releases, deadLetters } = this;
    if (acks.length > 0) {
      this.acks = [];
      this.track(this.settle(acks, 'lost', (keys) => this.statements.ack(keys, this.owner)));
    }
    if (releases.length > 0) {
      this.releases = [];
      // One statement per delay (usually one: the release delay, or a retry-later's).
      const byDelay = new Map<number, PendingSettle[]>();
      for (const pending of releases) {
        const same = byDelay.get(pending.delay);
        if (same === undefined) byDelay.set(pending.delay, [pending]);
        else same.push(pending);
      }
      for (const [delay, entries] of byDelay) {
        this.track(
          this.settle(entries, 'settled', (keys) =>
            this.statements.release(keys, this.owner, delay),
          ),
        );
      }
    }
    if (deadLetters.length > 0) {
      this.deadLetters = [];
      this.track(
        this.settle(deadLetters, 'settled', (keys) =>
          this.statements.deadLetter(keys, this.owner, {
            errors: deadLetters.map((pending) => describeError(pending.error)),
            categories: deadLetters.map((pending) => pending.error?.category ?? null),
            stages: deadLetters.map((pending) => pending.error?.stage ?? null),
          }),
        ),
      );
    }
  }

  private track(run: Promise<void>): void {
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async settle(
    entries: readonly PendingSettle[],
    returns: SettleResult,
    statement: (keys: LeaseKeys) => pg.QueryConfig<unknown[]>,
  ): Promise<void> {
    const query = statement(leaseKeys(entries.map((pending) => pending.lease)));
    let deadline = Infinity;
    for (const { lease } of entries) deadline = Math.min(deadline, lease.until);
    let rows: SettledRow[];
    try {
      const result = await this.service.retrying(() => this.service.query<SettledRow>(query), {
        deadline,
      });
      rows = result.rows;
    } catch (error) {
      const failure =
        isTransientPostgresError(error) || this.service.isClosed
          ? new DeliveryLostError(
              `could not settle before the lease ran out (${describeError(error)}); the row is delivered again`,
              { cause: error },
            )
          : error;
      for (const pending of entries) pending.reject(failure);
      return;
    }
    const isLost = lostRows(rows, returns);
    for (const pending of entries) {
      if (isLost(pending.lease)) {
        pending.reject(
          new DeliveryLostError(
            `row ${pending.lease.id} is no longer leased to this consumer (its lease expired and it was claimed again)`,
          ),
        );
      } else {
        pending.resolve();
      }
    }
  }
}

/** Whether a lease was lost, from what its settle statement returned. */
function lostRows(
  rows: readonly SettledRow[],
  returns: SettleResult,
): (lease: QueueLease) => boolean {
  if (returns === 'lost') {
    if (rows.length === 0) return () => false;
    const lost = new Set(rows.map((row) => row.id));
    return (lease) => lost.has(lease.id);
  }
  const settled = new Map<string, number>();
  for (const row of rows) settled.set(row.id, row.deliveries);
  return (lease) => settled.get(lease.id) !== lease.deliveries;
}
