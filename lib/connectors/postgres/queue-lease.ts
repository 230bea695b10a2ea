import type { LeaseKeys } from './queue-statements.js';

/** This consumer's claim on one queue row, kept out of the transaction's public metadata. */
export interface QueueLease {
  readonly id: string;
  /** The row's delivery count when claimed: the guard of every statement on the lease. */
  readonly deliveries: number;
  /** When the lease ends (local clock, ms since the epoch); renewals push it back. */
  until: number;
  /** Why this consumer no longer holds the row (`null` while it does). */
  lost: string | null;
}

/** The ids and delivery counts of `leases` (or of just-claimed rows), as statements take them. */
export function leaseKeys(leases: readonly Pick<QueueLease, 'id' | 'deliveries'>[]): LeaseKeys {
  const ids: string[] = [];
  const deliveries: number[] = [];
  const counts = new Set<number>();
  for (const lease of leases) {
    ids.push(lease.id);
    deliveries.push(lease.deliveries);
    counts.add(lease.deliveries);
  }
  return { ids, counts: [...counts], deliveries };
}
