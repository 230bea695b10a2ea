import type { LedgerSnapshot } from './processing-ledger.js';

/** A fault the spec injected: when, and which worker it hit (none: every connection of the task). */
export interface InjectedFault {
  readonly at: number;
  /** When a fault that lasts (a broker down) ended; work started before then may be redelivered. */
  readonly until?: number;
  readonly pid?: number;
}

/** What a run should have ended with. */
export interface LedgerExpectations {
  /** Every id published. */
  readonly published: readonly string[];
  /** The ids meant to end as dead letters (poison, undecodable), and only those. */
  readonly deadLetters: readonly string[];
  readonly faults: readonly InjectedFault[];
}

/** How a run went, judged from the ledger and the broker's dead letters. */
export interface LedgerVerdict {
  /** Published ids neither processed nor dead-lettered. */
  readonly lost: readonly string[];
  /** Processings beyond one per id. */
  readonly duplicates: number;
  /** Ids processed again although no fault hit their earlier processing. */
  readonly unexplainedDuplicates: readonly string[];
  /**
   * Ids acked or dead-lettered more than once where no fault explains it. An ack the worker
   * sent just before a fault killed it or its connection may never reach the broker (AMQP and
   * Redis acks are not confirmed): that counts in {@link lostSettlements} instead.
   */
  readonly settledTwice: readonly string[];
  /** Settlements followed by a fault on their worker, whose message was settled again later. */
  readonly lostSettlements: number;
  /** Dead letters that were not meant to be. */
  readonly unexpectedDeadLetters: readonly string[];
  /** Ids meant to be dead letters that are not. */
  readonly missingDeadLetters: readonly string[];
  /**
   * Worst, over the faults, of the time from a fault to the first settlement of a transaction
   * it interrupted (processed by a worker it hit and not settled by then); of any transaction
   * when it interrupted none. `null` without faults or when nothing settled after one.
   */
  readonly recoveryMs: number | null;
}

const terminal = new Set(['ack', 'deadLetter']);

function recoveryAfter(snapshot: LedgerSnapshot, fault: InjectedFault): number | null {
  const hit = (pid: number): boolean => fault.pid === undefined || fault.pid === pid;
  const settledBefore = new Set(
    snapshot.settlements.filter((s) => s.at <= fault.at && hit(s.pid)).map((s) => s.id),
  );
  const interrupted = new Set<string>();
  for (const entry of snapshot.processed.values()) {
    const touched = entry.pids.some((pid, index) => hit(pid) && (entry.at[index] ?? 0) <= fault.at);
    if (touched && !settledBefore.has(entry.id)) interrupted.add(entry.id);
  }
  const after = snapshot.settlements.filter((s) => s.at >= fault.at && terminal.has(s.decision));
  const first =
    after.find((s) => interrupted.has(s.id)) ?? (interrupted.size === 0 ? after[0] : undefined);
  return first === undefined ? null : first.at - fault.at;
}

/**
 * Judges a run: every published id processed at least once or dead-lettered as meant, each
 * duplicate processing explained by a fault that hit the worker before it could settle
 * (redelivery), nothing acked or dead-lettered twice, dead letters exactly the expected ones.
 */
export function judgeLedger(
  snapshot: LedgerSnapshot,
  deadLettered: readonly string[],
  expectations: LedgerExpectations,
): LedgerVerdict {
  const dead = new Set(deadLettered);
  const meantDead = new Set(expectations.deadLetters);
  const explained = (pid: number, at: number): boolean =>
    expectations.faults.some(
      (f) => (f.until ?? f.at) >= at && (f.pid === undefined || f.pid === pid),
    );
  let duplicates = 0;
  const unexplainedDuplicates: string[] = [];
  for (const entry of snapshot.processed.values()) {
    duplicates += entry.pids.length - 1;
    const earlier = entry.pids.slice(0, -1);
    if (earlier.some((pid, index) => !explained(pid, entry.at[index] ?? 0))) {
      unexplainedDuplicates.push(entry.id);
    }
  }
  const settlements = new Map<string, LedgerSnapshot['settlements'][number][]>();
  for (const s of snapshot.settlements) {
    if (terminal.has(s.decision)) settlements.set(s.id, [...(settlements.get(s.id) ?? []), s]);
  }
  const settledTwice: string[] = [];
  let lostSettlements = 0;
  for (const [id, each] of settlements) {
    const earlier = each.slice(0, -1);
    if (earlier.every((s) => explained(s.pid, s.at))) lostSettlements += earlier.length;
    else settledTwice.push(id);
  }
  const recoveries = expectations.faults
    .map((fault) => recoveryAfter(snapshot, fault))
    .filter((ms): ms is number => ms !== null);
  return {
    lost: expectations.published.filter((id) => !snapshot.processed.has(id) && !dead.has(id)),
    duplicates,
    unexplainedDuplicates,
    settledTwice,
    lostSettlements,
    unexpectedDeadLetters: [...dead].filter((id) => !meantDead.has(id)),
    missingDeadLetters: [...meantDead].filter((id) => !dead.has(id)),
    recoveryMs: recoveries.length === 0 ? null : Math.max(...recoveries),
  };
}
