import type { TickClaim, TickClaimResult, TickOutcome, TickStore } from '../../core/tick-store.js';

interface TickRecord {
  state: 'running' | 'done' | 'deadLetter' | 'skipped';
  owner: string;
  leaseUntil: number;
  error?: string;
}

/**
 * A {@link TickStore} in this process's memory: enough for one worker (the default of a cron
 * or interval connector), not shared with other processes. Answers synchronously, so
 * connectors using it run in virtual time. Keeps the last `keep` ticks of each schedule.
 *
 * @example
 * ```ts
 * const store = new MemoryTickStore();
 * const a = cronConnector({ schedule: '* * * * *', payload: {}, store });
 * const b = cronConnector({ schedule: '* * * * *', payload: {}, store }); // each tick once across a and b
 * ```
 */
export class MemoryTickStore implements TickStore {
  private readonly schedules = new Map<string, Map<number, TickRecord>>();

  /**
   * @param now the clock leases are measured on (default `Date.now`; a connector's scheduler
   *   in virtual-time tests).
   * @param keep how many ticks of a schedule to remember (default 1000).
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly keep = 1000,
  ) {}

  claim(claim: TickClaim): TickClaimResult {
    const now = this.now();
    let ticks = this.schedules.get(claim.schedule);
    if (ticks === undefined) {
      ticks = new Map();
      this.schedules.set(claim.schedule, ticks);
    }
    const existing = ticks.get(claim.tick);
    if (existing !== undefined && !(existing.state === 'running' && existing.leaseUntil <= now)) {
      return 'taken';
    }
    if (claim.exclusive) {
      for (const [tick, record] of ticks) {
        if (tick !== claim.tick && record.state === 'running' && record.leaseUntil > now) {
          ticks.set(claim.tick, { state: 'skipped', owner: claim.owner, leaseUntil: 0 });
          return 'overlap';
        }
      }
    }
    ticks.set(claim.tick, { state: 'running', owner: claim.owner, leaseUntil: now + claim.lease });
    if (ticks.size > this.keep) {
      const oldest = Math.min(...ticks.keys());
      if (ticks.get(oldest)?.state !== 'running') ticks.delete(oldest);
    }
    return 'claimed';
  }

  settle(
    schedule: string,
    tick: number,
    owner: string,
    outcome: TickOutcome,
    error?: string,
  ): void {
    const ticks = this.schedules.get(schedule);
    const record = ticks?.get(tick);
    if (ticks === undefined || record === undefined || record.owner !== owner) return;
    if (outcome === 'released') ticks.delete(tick);
    else ticks.set(tick, { ...record, state: outcome, ...(error === undefined ? {} : { error }) });
  }

  latest(schedule: string): number | undefined {
    const now = this.now();
    let latest: number | undefined;
    for (const [tick, record] of this.schedules.get(schedule) ?? []) {
      if (record.state === 'running' && record.leaseUntil <= now) continue;
      if (latest === undefined || tick > latest) latest = tick;
    }
    return latest;
  }
}
