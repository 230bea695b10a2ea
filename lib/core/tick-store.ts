import type { Eventually } from './connector.js';

/** One attempt to claim a tick of a schedule for one worker. */
export interface TickClaim {
  /** The schedule's name: every worker of one schedule uses the same. */
  readonly schedule: string;
  /** The tick's time, milliseconds since the epoch. */
  readonly tick: number;
  /** Who claims it (a worker's unique name). */
  readonly owner: string;
  /**
   * How long the claim holds while the tick runs (ms): after that a claimed tick that was
   * never settled (its worker died) may be claimed again, and no longer blocks `exclusive`.
   */
  readonly lease: number;
  /**
   * `true` (overlap policy `skip`): refuse when another tick of the schedule is running under
   * a live lease, and record this tick as skipped so no worker runs it.
   */
  readonly exclusive: boolean;
}

/**
 * What a claim got: `claimed` (run it), `taken` (another worker claimed, ran or skipped it),
 * `overlap` (refused and recorded as skipped: another tick of the schedule is still running).
 */
export type TickClaimResult = 'claimed' | 'taken' | 'overlap';

/** How a claimed tick ended: done (ack), dead-lettered, or released (it may run again). */
export type TickOutcome = 'done' | 'deadLetter' | 'released';

/**
 * Where the workers of a schedule agree on who runs which tick: a cron or interval connector
 * claims each due tick here before it hands it out, so across any number of workers sharing
 * one store each tick runs once. Implementations: `MemoryTickStore` (one process),
 * `PostgresTickStore` (`ergon-rx/postgres`) and `RedisTickStore` (`ergon-rx/redis`). Methods
 * may answer synchronously (virtual-time tests) or with a Promise/Observable.
 */
export interface TickStore {
  /** Claims one tick; see {@link TickClaim} and {@link TickClaimResult}. */
  claim(claim: TickClaim): Eventually<TickClaimResult>;
  /**
   * Records how a tick `owner` claimed ended: `done` and `deadLetter` keep it (it never runs
   * again; a dead letter keeps `error`), `released` forgets it (it may be claimed again).
   */
  settle(
    schedule: string,
    tick: number,
    owner: string,
    outcome: TickOutcome,
    error?: string,
  ): Eventually<void>;
  /**
   * The latest tick of `schedule` that was claimed, ran or was skipped (ms since the epoch),
   * not counting claims whose lease ran out unsettled; `undefined` when there is none. The
   * catch-up after a restart starts after it.
   */
  latest(schedule: string): Eventually<number | undefined>;
  /** Releases what the store holds (its own connection); idempotent. */
  close?(): Eventually<void>;
}
