import type { SettleDecision } from '../../../lib/index.js';

/** How one id ended up: every settlement it got, in order. */
type SettleType = SettleDecision['type'];

/**
 * The bookkeeping of a fault scenario: which ids were published, how often each was
 * processed (handler attempts that ran), and every settlement each got. From it the spec
 * reads what `RELIABILITY.md` reports: ids lost (published, never acked, dead-lettered nor
 * left released for redelivery), duplicate processings, ids settled more than once.
 */
export class SettlementLedger {
  private readonly published = new Set<string>();
  private readonly processings = new Map<string, number>();
  private readonly settlements = new Map<string, SettleType[]>();

  constructor(ids: Iterable<string>) {
    for (const id of ids) this.published.add(id);
  }

  /** A delivery of `id` started its lifecycle (count the first attempt only, not retries). */
  processed(id: string): void {
    this.processings.set(id, (this.processings.get(id) ?? 0) + 1);
  }

  /** `id` was settled with `type`. */
  settled(id: string, type: SettleType): void {
    const list = this.settlements.get(id);
    if (list === undefined) this.settlements.set(id, [type]);
    else list.push(type);
  }

  /** Published ids without a settlement (neither acked, dead-lettered nor released). */
  lost(): string[] {
    return [...this.published].filter((id) => !this.settlements.has(id));
  }

  /** Ids settled more than once (a release followed by a redelivery's settlement is fine). */
  settledTwice(): string[] {
    return [...this.settlements]
      .filter(([, types]) => types.filter((type) => type !== 'release').length > 1)
      .map(([id]) => id);
  }

  /** Ids whose final settlement is `type`. */
  endedAs(type: SettleType): string[] {
    return [...this.settlements].filter(([, types]) => types.at(-1) === type).map(([id]) => id);
  }

  /** Processings beyond one per id. */
  duplicates(): number {
    let extra = 0;
    for (const count of this.processings.values()) extra += Math.max(0, count - 1);
    return extra;
  }

  get messages(): number {
    return this.published.size;
  }
}
