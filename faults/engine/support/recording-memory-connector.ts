import { MemoryConnector, type SettleDecision, type Transaction } from '../../../lib/index.js';
import type { SettlementLedger } from './settlement-ledger.js';

/**
 * A {@link MemoryConnector} of the payloads `0 … count-1` whose ids are the payloads as
 * strings, reporting every settlement to a {@link SettlementLedger} and its time to
 * `onSettle` (the recovery time of a fault is read from it).
 */
export class RecordingMemoryConnector extends MemoryConnector<number> {
  constructor(
    count: number,
    private readonly settlementLedger: SettlementLedger,
    private readonly onSettle: (at: number) => void = () => undefined,
  ) {
    super({ source: Array.from({ length: count }, (_, n) => n), idPrefix: '' });
  }

  override settle(transaction: Transaction<number>, decision: SettleDecision): void {
    this.settlementLedger.settled(String(transaction.payload), decision.type);
    this.onSettle(Date.now());
    super.settle(transaction, decision);
  }
}
