import { defer, finalize, isObservable, tap, type Observable } from 'rxjs';
import type { Connector, ConnectorHealth, FetchRequest } from '../../core/connector.js';
import { isOutcome, type OutcomeStatus, type SettleDecision } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import type { DashboardConnectorHealth } from '../../dashboard/dashboard-api.js';
import type { WorkerHeartbeat, WorkerState } from './worker-messages.js';

/** A run's activity as {@link WorkerLiveness.activity} reports it; durations in milliseconds. */
export interface RunActivity {
  readonly state: WorkerState;
  /** Transactions fetched and not settled yet. */
  readonly inFlight: number;
  /** Since the last fetched transaction, settlement or outcome (or since the start). */
  readonly sinceProgressMs: number;
  /** Fetches under way. */
  readonly fetching: number;
  /** Age of the oldest fetch under way, `null` when none is. */
  readonly oldestFetchMs: number | null;
  /** Since the last fetch started, `null` before the first. */
  readonly sinceFetchStartedMs: number | null;
}

/**
 * The liveness of a worker process, reported to the primary over IPC: its state, its
 * in-flight count (transactions its connectors fetched and did not settle yet) and the time
 * since its last progress (a fetch, a settlement or an outcome of the run). The heartbeat
 * timer runs on the worker's event loop, so a wedged loop stops the heartbeats: that is what
 * the primary watches for.
 *
 * @example
 * ```ts
 * const liveness = new WorkerLiveness(1, 1000, (message) => process.send?.(message));
 * liveness.start();
 * liveness.instrumentConnector(connector);
 * const outcomes$ = liveness.track(run(context));
 * ```
 */
export class WorkerLiveness {
  private state: WorkerState = 'starting';
  private fetched = 0;
  private settled = 0;
  private outcomes = 0;
  private readonly ended: Record<OutcomeStatus, number> = {
    success: 0,
    exception: 0,
    failed: 0,
    timeout: 0,
    released: 0,
  };
  private fetching = 0;
  /** Start times of the fetches under way, oldest first. */
  private readonly fetchStarts: number[] = [];
  private lastFetchStarted: number | undefined;
  private lastProgress: number;
  private timer: NodeJS.Timeout | undefined;
  private connectorHealth: () => ReadonlyMap<string, ConnectorHealth | undefined> = () => new Map();

  /**
   * `now` is the clock of progress and fetch times, in milliseconds (default
   * `performance.now`; a scheduler's `now` in virtual-time tests).
   */
  constructor(
    private readonly workerId: number,
    private readonly interval: number,
    private readonly send: (heartbeat: WorkerHeartbeat) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastProgress = now();
  }

  /** Sends a heartbeat now and then every `interval` ms (the timer does not keep the process alive). */
  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.interval);
    this.timer.unref();
  }

  /** Stops the heartbeats. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reports `stopping` from now on (a stop was requested). */
  stopping(): void {
    this.state = 'stopping';
    this.beat();
  }

  /** Where the heartbeats read the connectors' health from (the run's watchdog). */
  reportConnectorHealth(read: () => ReadonlyMap<string, ConnectorHealth | undefined>): void {
    this.connectorHealth = read;
  }

  /** The heartbeat as it would be sent now. */
  snapshot(): WorkerHeartbeat {
    const connectors: DashboardConnectorHealth[] = [];
    for (const [name, health] of this.connectorHealth()) {
      if (health === undefined) continue;
      const { healthy, state, detail } = health;
      connectors.push({ name, healthy, state, ...(detail === undefined ? {} : { detail }) });
    }
    return {
      type: 'ergon:heartbeat',
      workerId: this.workerId,
      state: this.state,
      inFlight: this.inFlight(),
      sinceProgressMs: Math.round(this.now() - this.lastProgress),
      ended: { ...this.ended },
      connectors,
    };
  }

  /** What the run's watchdog looks at: the heartbeat's counts and the fetches under way. */
  activity(): RunActivity {
    const now = this.now();
    const oldest = this.fetchStarts[0];
    return {
      state: this.state,
      inFlight: this.inFlight(),
      sinceProgressMs: now - this.lastProgress,
      fetching: this.fetching,
      oldestFetchMs: oldest === undefined ? null : now - oldest,
      sinceFetchStartedMs: this.lastFetchStarted === undefined ? null : now - this.lastFetchStarted,
    };
  }

  /**
   * Counts what `connector` fetches and settles, by wrapping its `fetch` and `settle` on the
   * instance (the connector is otherwise untouched; a frozen one is left alone).
   */
  instrumentConnector(connector: Connector): void {
    if (typeof connector.fetch !== 'function' || Object.isFrozen(connector)) return;
    const fetch = connector.fetch.bind(connector);
    connector.fetch = (request: FetchRequest): Observable<Transaction> =>
      defer(() => {
        const startedAt = this.now();
        this.fetching++;
        this.fetchStarts.push(startedAt);
        this.lastFetchStarted = startedAt;
        this.setState();
        return fetch(request).pipe(
          tap(() => {
            this.fetched++;
            this.progress();
          }),
          finalize(() => {
            this.fetching--;
            const at = this.fetchStarts.indexOf(startedAt);
            if (at >= 0) this.fetchStarts.splice(at, 1);
            this.setState();
          }),
        );
      });
    const settle = connector.settle?.bind(connector);
    if (settle === undefined) return;
    connector.settle = (transaction: Transaction, decision: SettleDecision) => {
      this.settled++;
      this.progress();
      return settle(transaction, decision);
    };
  }

  /** Counts the outcomes of a run (an Observable; a Promise is returned as it is). */
  track<R extends Observable<unknown> | PromiseLike<unknown>>(run: R): R {
    this.setState();
    if (!isObservable(run)) return run;
    return run.pipe(
      tap((value) => {
        this.outcomes++;
        if (isOutcome(value)) this.ended[value.status]++;
        this.progress();
      }),
    ) as R;
  }

  private inFlight(): number {
    return Math.max(0, this.fetched - Math.max(this.settled, this.outcomes));
  }

  private progress(): void {
    this.lastProgress = this.now();
    this.setState();
  }

  private setState(): void {
    if (this.state === 'stopping') return;
    if (this.fetching > 0) this.state = 'fetching';
    else this.state = this.inFlight() > 0 ? 'processing' : 'idle';
  }

  private beat(): void {
    try {
      this.send(this.snapshot());
    } catch {
      // The IPC channel is closing: the primary no longer listens.
    }
  }
}
