import { ScheduleError } from './errors.js';
import { renderValue } from './renderers.js';
import type { Transaction } from './transaction.js';

// Reading the scheduling fields of a transaction's metadata: `notBefore` and `priority` (set
// by producers, honoured by `dispatch` where the connector can), and the delivery count
// connectors put there (under `deliveryCount`, `deliveries` or SQS's `receiveCount`).

/** The highest `metadata.priority`; 0 is the lowest and the default. */
export const MAX_PRIORITY = 9;

/**
 * `metadata.notBefore` as milliseconds since the epoch, or `undefined` when absent (`null`
 * and `undefined` mean none). Accepts a `Date`, a number of milliseconds since the epoch, or
 * an ISO 8601 text with a time zone (`2026-12-24T18:00:00Z`).
 *
 * @throws ScheduleError when it is something else, or an invalid date.
 */
export function notBeforeOf(transaction: Transaction): number | undefined {
  const value = transaction.metadata['notBefore'];
  if (value === undefined || value === null) return undefined;
  const time =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string' && /T.*(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new ScheduleError(
      `transaction ${transaction.id}: metadata.notBefore must be a Date, milliseconds since the epoch or an ISO 8601 time with a zone (2026-12-24T18:00:00Z), got ${renderValue(value)}`,
    );
  }
  return time;
}

/**
 * For a connector that writes at once and cannot hold a transaction back: throws a
 * {@link ScheduleError} when `metadata.notBefore` is in the future (or invalid), so the
 * transaction fails its dispatch rather than being delivered early. `connector` names the
 * connector in the message (`the Kafka connector`).
 *
 * @example
 * ```ts
 * for (const tx of batch) refuseNotBefore(tx, 'the Kafka connector');
 * ```
 */
export function refuseNotBefore(transaction: Transaction, connector: string): void {
  const notBefore = notBeforeOf(transaction);
  if (notBefore === undefined || notBefore <= Date.now()) return;
  throw new ScheduleError(
    `transaction ${transaction.id} has metadata.notBefore ${new Date(notBefore).toISOString()}, but ${connector} writes at once and cannot hold it back; dispatch it to a connector that can (docs/scheduling.md)`,
  );
}

/**
 * `metadata.priority` (an integer from 0, the default, to 9, the most urgent), or `undefined`
 * when absent.
 *
 * @throws ScheduleError when it is not an integer from 0 to 9.
 */
export function priorityOf(transaction: Transaction): number | undefined {
  const value = transaction.metadata['priority'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_PRIORITY) {
    throw new ScheduleError(
      `transaction ${transaction.id}: metadata.priority must be an integer from 0 (default) to ${MAX_PRIORITY} (most urgent), got ${renderValue(value)}`,
    );
  }
  return value;
}

/**
 * How many times the transaction was delivered, this delivery included, as its connector put
 * it in the metadata (`deliveryCount`, `deliveries`, or SQS's `receiveCount`); 1 when the
 * connector does not say.
 */
export function deliveryCountOf(transaction: Transaction): number {
  const metadata = transaction.metadata;
  const count = metadata['deliveryCount'] ?? metadata['deliveries'] ?? metadata['receiveCount'];
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 1 ? count : 1;
}
