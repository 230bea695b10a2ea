import { defer, finalize, isObservable, tap, type Observable } from 'rxjs';
import type { Connector, FetchRequest } from '../../core/connector.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { Transaction } from '../../core/transaction.js';
import type { WorkerHeartbeat, WorkerState } from './worker-messages.js';

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
  private fetching = 0;
  private lastProgress = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly workerId: number,
    private readonly interval: number,
    private readonly send: (heartbeat: WorkerHeartbeat) => void,
  ) {}

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

  /** The heartbeat as it would be sent now. */
  snapshot(): WorkerHeartbeat {
    return {
      type: 'ergon:heartbeat',
      workerId: this.workerId,
      state: this.state,
      inFlight: this.inFlight(),
      sinceProgressMs: Math.round(performance.now() - this.lastProgress),
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
        this.fetching++;
        this.setState();
        return fetch(request).pipe(
          tap(() => {
            this.fetched++;
            this.progress();
          }),
          finalize(() => {
            this.fetching--;
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
      tap(() => {
        this.outcomes++;
        this.progress();
      }),
    ) as R;
  }

  private inFlight(): number {
    return Math.max(0, this.fetched - Math.max(this.settled, this.outcomes));
  }

  private progress(): void {
    this.lastProgress = performance.now();
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
