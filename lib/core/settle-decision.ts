import type { TransactionError } from './transaction-error.js';

/** Why a transaction was handed back unfinished, to be delivered again. */
export type ReleaseReason =
  /** A graceful stop's grace period ran out, or the loop stopped before the transaction started. */
  | 'shutdown'
  /** The subscriber unsubscribed (hard stop). */
  | 'unsubscribe'
  /** `loop.timeout` expired. */
  | 'loopTimeout'
  /** The loop failed (for instance the fetch kept failing) and cancelled outstanding work. */
  | 'loopError'
  /** A connector returned more than `loop.limit` allowed; the surplus goes back unprocessed. */
  | 'overLimit'
  /** The connector lost the delivery before it could settle it; the broker redelivers it. */
  | 'connectionLost';

/**
 * What a connector must do with a fetched transaction once its lifecycle ended:
 * `ack` (done), `deadLetter` (failed for good, never redeliver) or `release` (redeliver).
 */
export type SettleDecision =
  | { readonly type: 'ack' }
  | { readonly type: 'deadLetter'; readonly error: TransactionError }
  | { readonly type: 'release'; readonly reason: ReleaseReason };
