import { SettlementError } from './errors.js';
import type { Transaction } from './transaction.js';

/**
 * Takes `transaction`'s delivery out of `held` (what a settlement acts on, once); `undefined`
 * when it was settled already or was not fetched there (answer that with {@link notHeld}).
 */
export function takeDelivery<P, D>(
  held: Map<Transaction<P>, D>,
  transaction: Transaction<P>,
): D | undefined {
  const delivery = held.get(transaction);
  held.delete(transaction);
  return delivery;
}

/** The settlement of a transaction the connector does not hold: a `SettlementError`. */
export function notHeld(transaction: Transaction): Promise<never> {
  return Promise.reject(
    new SettlementError(
      `transaction ${transaction.id} was settled twice or was not fetched from this connector`,
    ),
  );
}
