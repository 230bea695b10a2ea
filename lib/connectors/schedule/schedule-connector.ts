import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Cron } from 'croner';
import {
  asyncScheduler,
  defer,
  EMPTY,
  from,
  isObservable,
  Observable,
  of,
  switchMap,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { Connector, Eventually, FetchRequest } from '../../core/connector.js';
import { ConnectorClosedError, PolicyError, SettlementError } from '../../core/errors.js';
import type { SettleDecision } from '../../core/outcome.js';
import { describeError, describeValue } from '../../core/renderers.js';
import type { TickStore } from '../../core/tick-store.js';
import { markUndecodable, type Transaction } from '../../core/transaction.js';
import { MAX_TIMER_DELAY, parseDuration, type DurationInput } from '../../policy/codecs/values.js';
import { MemoryTickStore } from './memory-tick-store.js';

/** What to do with ticks that fell due while no worker was running (deploys, outages). */
export type CatchUpPolicy = 'none' | 'last' | 'all';

/** What to do with a tick that falls due while an earlier tick of the schedule still runs. */
export type OverlapPolicy = 'skip' | 'allow';

/** The tick a payload function is called with. */
export interface ScheduledTick {
  /** The schedule's name (see `name`). */
  readonly schedule: string;
  /** When the tick was due. */
  readonly at: Date;
  /** `true` for a tick that fell due while no worker ran, handed out by the catch-up. */
  readonly catchUp: boolean;
}

/**
 * The metadata of a tick's transaction: `schedule`, `tickAt` (ISO 8601, when it was due) and
 * `catchUp`.
 */
export type TickMetadata = {
  readonly schedule: string;
  readonly tickAt: string;
  readonly catchUp: boolean;
};

/** Options shared by {@link cronConnector} and {@link intervalConnector}. */
export interface ScheduleOptions<P> {
  /**
   * Each tick's payload: a value, or a function of the tick (called once per claimed tick).
   * A payload that is itself a function must be returned by a function.
   */
  readonly payload: P | ((tick: ScheduledTick) => P);
  /**
   * The schedule's identity: part of every tick's transaction id and its key in the store,
   * so every worker of one schedule must use the same. Default: derived from the schedule
   * (`cron:<pattern>[@<timezone>]`, `interval:<every>ms[+<offset>ms]`).
   */
  readonly name?: string;
  /**
   * Where workers claim ticks (default: a {@link MemoryTickStore} of this connector alone).
   * Share a `PostgresTickStore` or `RedisTickStore` between workers to run each tick once.
   */
  readonly store?: TickStore;
  /**
   * Ticks missed while no worker ran, counted from the latest tick in the store: `last`
   * (default) runs only the most recent missed tick, `all` runs every missed tick (at most
   * `maxCatchUp`, the most recent ones), `none` runs none. The first run ever catches up nothing.
   */
  readonly catchUp?: CatchUpPolicy;
  /** Most missed ticks `catchUp: 'all'` hands out (default 100). */
  readonly maxCatchUp?: number;
  /**
   * `skip` (default): a tick due while another tick of this schedule still runs (in any worker
   * sharing the store) is skipped and recorded as such; `allow`: it runs alongside.
   */
  readonly overlap?: OverlapPolicy;
  /**
   * How long a claimed tick may run before the store considers its worker dead (default
   * `'1h'`): it then stops blocking `overlap: 'skip'`, and catch-up may run it again.
   */
  readonly lease?: DurationInput;
  /** Where time is read and waits are scheduled (default `asyncScheduler`: virtual in `TestScheduler.run`). */
  readonly scheduler?: SchedulerLike;
  /** This worker's name in the store (default host, pid and a random suffix). */
  readonly owner?: string;
}

/** Options of {@link cronConnector}. */
export interface CronConnectorOptions<P> extends ScheduleOptions<P> {
  /**
   * A cron pattern (five fields, or six with seconds first; croner syntax: `*\/5 * * * *`,
   * `0 9 * * MON-FRI`, `@hourly`, `L` for the last day of the month).
   */
  readonly schedule: string;
  /**
   * The IANA time zone the pattern is read in (default UTC). Across daylight saving time, a
   * time that does not exist (spring forward) runs at the first time after the gap, a time
   * that exists twice (fall back) runs once, at its first occurrence.
   */
  readonly timezone?: string;
}

/** Options of {@link intervalConnector}. */
export interface IntervalConnectorOptions<P> extends ScheduleOptions<P> {
  /** Time between ticks (ms, or `'30s'`, `'5m'`…). */
  readonly every: DurationInput;
  /**
   * Ticks fall at `offset + k × every` since the epoch (default `0`), so every worker
   * computes the same tick times whenever it started.
   */
  readonly offset?: DurationInput;
}

/** When ticks fall: the tick after a time, and the last ticks at or before one. */
interface TickTimes {
  /** The first tick strictly after `time`; `undefined` when the schedule has no more. */
  after(time: number): number | undefined;
  /** Up to `count` ticks at or before `time`, oldest first. */
  atOrBefore(time: number, count: number): number[];
}

const defaultLease = 3_600_000;

function eventually<T>(value: Eventually<T>): Observable<T> {
  if (isObservable(value)) return value;
  if (value !== null && typeof value === 'object' && 'then' in value) {
    return from(value);
  }
  return of(value);
}

/**
 * A source of one transaction per due tick of a schedule. `fetch` hands out the ticks due
 * now, claimed through the {@link TickStore} so each runs once across the workers sharing it;
 * when none is due it waits (on the scheduler) for the next one. Each tick's id is
 * `<name>#<tick time ISO 8601>`. Settling: `ack` records the tick done, `deadLetter` records
 * it with the error (it does not run again), `release` forgets it and hands it out again
 * (this worker's next fetch). Made by {@link cronConnector} and {@link intervalConnector}.
 */
export class ScheduleConnector<P> implements Connector<P> {
  readonly system = 'schedule';
  /** The schedule's name: `destination` in telemetry, the prefix of every tick's id. */
  readonly destination: string;
  readonly owner: string;
  private readonly store: TickStore;
  private readonly scheduler: SchedulerLike;
  private readonly catchUp: CatchUpPolicy;
  private readonly maxCatchUp: number;
  private readonly exclusive: boolean;
  private readonly lease: number;
  /** Ticks due and not handed out yet (caught-up, released or due since the last fetch). */
  private readonly pending: { tick: number; catchUp: boolean }[] = [];
  private readonly held = new Map<Transaction<P>, number>();
  /** The last tick time considered; `undefined` before the first fetch. */
  private cursor: number | undefined;
  private starting: Observable<void> | null = null;
  private closed = false;

  constructor(
    private readonly times: TickTimes,
    name: string,
    private readonly options: ScheduleOptions<P>,
  ) {
    this.destination = name;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.store = options.store ?? new MemoryTickStore(() => this.scheduler.now());
    this.catchUp = options.catchUp ?? 'last';
    this.maxCatchUp = options.maxCatchUp ?? 100;
    this.exclusive = (options.overlap ?? 'skip') === 'skip';
    this.lease = options.lease === undefined ? defaultLease : (parseDuration(options.lease) ?? 0);
    const issues: { path: string; expected: string; actual: string }[] = [];
    if (!['none', 'last', 'all'].includes(this.catchUp)) {
      issues.push({
        path: 'catchUp',
        expected: "'none', 'last' or 'all'",
        actual: describeValue(this.catchUp),
      });
    }
    if (!Number.isSafeInteger(this.maxCatchUp) || this.maxCatchUp < 1) {
      issues.push({
        path: 'maxCatchUp',
        expected: 'a whole number ≥ 1',
        actual: describeValue(options.maxCatchUp),
      });
    }
    if (!['skip', 'allow'].includes(options.overlap ?? 'skip')) {
      issues.push({
        path: 'overlap',
        expected: "'skip' or 'allow'",
        actual: describeValue(options.overlap),
      });
    }
    if (!(this.lease > 0)) {
      issues.push({
        path: 'lease',
        expected: 'a positive duration',
        actual: describeValue(options.lease),
      });
    }
    if (issues.length > 0) throw new PolicyError(`schedule ${name}`, issues);
  }

  /**
   * The ticks due now (at most `request.size`), each claimed in the store first; ticks other
   * workers claimed are left out, so a fetch may complete empty. When no tick is due it waits
   * for the next one. The first fetch also hands out missed ticks per `catchUp`.
   */
  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return defer(() => {
      if (this.closed) throw new ConnectorClosedError(`schedule ${this.destination} is closed`);
      return this.start().pipe(switchMap(() => this.due(request.size)));
    });
  }

  /** Records the tick's end in the store; a released tick is handed out again afterwards. */
  settle(transaction: Transaction<P>, decision: SettleDecision): Observable<void> {
    return defer(() => {
      const tick = this.held.get(transaction);
      if (tick === undefined) {
        throw new SettlementError(
          `transaction ${transaction.id} was settled twice or was not fetched from schedule ${this.destination}`,
        );
      }
      this.held.delete(transaction);
      const { destination: schedule, owner } = this;
      switch (decision.type) {
        case 'ack':
          return eventually(this.store.settle(schedule, tick, owner, 'done'));
        case 'deadLetter':
          return eventually(
            this.store.settle(schedule, tick, owner, 'deadLetter', describeError(decision.error)),
          );
        case 'release':
          return new Observable<void>((subscriber) =>
            eventually(this.store.settle(schedule, tick, owner, 'released')).subscribe({
              error: (error: unknown) => subscriber.error(error),
              complete: () => {
                const catchUp = transaction.metadata['catchUp'] === true;
                this.pending.unshift({ tick, catchUp });
                subscriber.complete();
              },
            }),
          );
      }
    });
  }

  /** Stops handing out ticks; idempotent. The store is the caller's to close. */
  close(): void {
    this.closed = true;
  }

  /** Once: where the ticks start, and the missed ticks to catch up. */
  private start(): Observable<void> {
    this.starting ??= defer(() => {
      if (this.cursor !== undefined) return of(undefined);
      return eventually(this.store.latest(this.destination)).pipe(
        switchMap((latest) => {
          if (this.cursor !== undefined) return of(undefined);
          const now = this.scheduler.now();
          this.cursor = now;
          if (this.catchUp !== 'none' && latest !== undefined) {
            const count = this.catchUp === 'last' ? 1 : this.maxCatchUp;
            for (const tick of this.times.atOrBefore(now, count)) {
              if (tick > latest) this.pending.push({ tick, catchUp: true });
            }
          }
          return of(undefined);
        }),
      );
    });
    return this.starting;
  }

  /** Hands out the due ticks, or waits for the next one when none is due. */
  private due(size: number): Observable<Transaction<P>> {
    return defer(() => {
      const now = this.scheduler.now();
      let next = this.times.after(this.cursor ?? now);
      while (next !== undefined && next <= now) {
        this.pending.push({ tick: next, catchUp: false });
        this.cursor = next;
        next = this.times.after(next);
      }
      if (this.pending.length > 0) return this.claimed(size);
      if (next === undefined) return EMPTY;
      return timer(Math.min(next - now, MAX_TIMER_DELAY), this.scheduler).pipe(
        switchMap(() => this.due(size)),
      );
    });
  }

  /**
   * Claims pending ticks one by one until `size` were claimed or none is left; a tick
   * another worker has is dropped. A claim that fails puts the tick back (the fetch errors and
   * is retried); a claim that succeeds after the fetch was unsubscribed is released.
   */
  private claimed(size: number): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      let emitted = 0;
      let wanted = true;
      const step = (): void => {
        const entry = this.pending[0];
        if (!wanted) return;
        if (entry === undefined || emitted >= size) {
          subscriber.complete();
          return;
        }
        this.pending.shift();
        let claimed = false;
        eventually(
          this.store.claim({
            schedule: this.destination,
            tick: entry.tick,
            owner: this.owner,
            lease: this.lease,
            exclusive: this.exclusive,
          }),
        ).subscribe({
          next: (result) => {
            claimed = result === 'claimed';
          },
          error: (error: unknown) => {
            this.pending.unshift(entry);
            subscriber.error(error);
          },
          complete: () => {
            if (claimed && !wanted) {
              eventually(
                this.store.settle(this.destination, entry.tick, this.owner, 'released'),
              ).subscribe({
                error: () => undefined,
                complete: () => this.pending.unshift(entry),
              });
              return;
            }
            if (claimed) {
              emitted++;
              subscriber.next(this.transaction(entry.tick, entry.catchUp));
            }
            step();
          },
        });
      };
      step();
      return () => {
        wanted = false;
      };
    });
  }

  private transaction(tick: number, catchUp: boolean): Transaction<P> {
    const at = new Date(tick);
    const tickAt = at.toISOString();
    const metadata: TickMetadata = Object.freeze({ schedule: this.destination, tickAt, catchUp });
    const { payload } = this.options;
    const id = `${this.destination}#${tickAt}`;
    let transaction: Transaction<P>;
    if (typeof payload === 'function') {
      try {
        const value = (payload as (tick: ScheduledTick) => P)({
          schedule: this.destination,
          at,
          catchUp,
        });
        transaction = Object.freeze({ id, payload: value, metadata });
      } catch (error) {
        // A payload function that throws must not strand a claimed tick: the transaction
        // goes to the exception handler (stage `decode`), and is settled like any other.
        transaction = markUndecodable(
          Object.freeze({ id, payload: undefined as P, metadata }),
          error,
        );
      }
    } else {
      transaction = Object.freeze({ id, payload, metadata });
    }
    this.held.set(transaction, tick);
    return transaction;
  }
}

/**
 * A connector whose fetch yields one transaction per tick of a cron schedule (croner syntax,
 * in `timezone`). Give every worker the same shared `store` and each tick runs once among
 * them. See {@link ScheduleConnector} for settlement and docs/connectors/schedule.md.
 *
 * ```text
 * schedule '*\/5 * * * *'   -----a----b----c--    (one transaction per 5 minutes)
 * ```
 *
 * @example
 * ```ts
 * import { consume, consumerTask } from 'ergon-rx';
 * import { cronConnector } from 'ergon-rx/schedule';
 *
 * const ticks = cronConnector({ schedule: '0 6 * * *', timezone: 'Europe/Paris', payload: { report: 'daily' } });
 * consume(ticks, consumerTask({ process: (tx) => console.log('report due at', tx.metadata['tickAt']) }), {
 *   loop: { streaming: true },
 * }).subscribe();
 * ```
 * @throws PolicyError when the pattern, the time zone or an option is invalid.
 */
export function cronConnector<P>(options: CronConnectorOptions<P>): ScheduleConnector<P> {
  const { schedule, timezone } = options;
  let cron: Cron;
  try {
    cron = new Cron(schedule, { paused: true, timezone: timezone ?? 'Etc/UTC' });
    cron.nextRun(new Date(0));
  } catch (error) {
    throw new PolicyError('cron connector options', [
      {
        path:
          timezone !== undefined && String(error).includes('timezone') ? 'timezone' : 'schedule',
        expected: `a valid cron pattern and IANA time zone (${describeError(error)})`,
        actual: describeValue(
          timezone !== undefined && String(error).includes('timezone') ? timezone : schedule,
        ),
      },
    ]);
  }
  const times: TickTimes = {
    after: (time) => cron.nextRun(new Date(time))?.getTime(),
    atOrBefore: (time, count) =>
      cron
        .previousRuns(count, new Date(time + 1))
        .map((date) => date.getTime())
        .reverse(),
  };
  const name = options.name ?? `cron:${schedule}${timezone === undefined ? '' : `@${timezone}`}`;
  return new ScheduleConnector(times, name, options);
}

/**
 * A connector whose fetch yields one transaction every `every`, at `offset + k × every` since
 * the epoch (so all workers agree on the ticks). Share a `store` between workers to run each
 * tick once. See {@link ScheduleConnector}.
 *
 * ```text
 * every 100 ms   ---------a---------b---------c--
 * ```
 *
 * @example
 * ```ts
 * import { intervalConnector } from 'ergon-rx/schedule';
 *
 * const heartbeat = intervalConnector({ every: '30s', payload: (tick) => ({ at: tick.at }) });
 * ```
 * @throws PolicyError when `every` or `offset` is not a duration, or an option is invalid.
 */
export function intervalConnector<P>(options: IntervalConnectorOptions<P>): ScheduleConnector<P> {
  const every = parseDuration(options.every);
  const offset = options.offset === undefined ? 0 : parseDuration(options.offset);
  const issues: { path: string; expected: string; actual: string }[] = [];
  if (every === undefined || every < 1) {
    issues.push({
      path: 'every',
      expected: 'a duration of at least 1 ms',
      actual: describeValue(options.every),
    });
  }
  if (offset === undefined) {
    issues.push({
      path: 'offset',
      expected: 'a non-negative duration',
      actual: describeValue(options.offset),
    });
  }
  if (every === undefined || offset === undefined || issues.length > 0) {
    throw new PolicyError('interval connector options', issues);
  }
  const period = Math.round(every);
  const shift = Math.round(offset) % period;
  const times: TickTimes = {
    after: (time) => shift + (Math.floor((time - shift) / period) + 1) * period,
    atOrBefore: (time, count) => {
      const last = shift + Math.floor((time - shift) / period) * period;
      return Array.from({ length: count }, (_, n) => last - (count - 1 - n) * period);
    },
  };
  const name = options.name ?? `interval:${period}ms${shift === 0 ? '' : `+${shift}ms`}`;
  return new ScheduleConnector(times, name, options);
}
