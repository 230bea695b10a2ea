import type { Observable } from 'rxjs';
import type { Logger } from '../core/logging.js';

/** What connector and service factories receive. */
export interface ResourceContext<P = Readonly<Record<string, unknown>>> {
  /** The task's name. */
  readonly name: string;
  /** Which worker process runs the task (0 when there is one). */
  readonly workerId: number;
  /** The task's named policies, as configured. */
  readonly policies: P;
  /** The task's logger. */
  readonly logger: Logger;
  /** Aborts on the first SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
}

/**
 * What a task's `run` and `exit` receive: its name, worker id, the connectors and services
 * its factories built (typed as the factories return them), its policies, a logger, and the
 * stop signal twice: `stop$` (pass it to `consume(…, { stop$ })` for a graceful drain) and
 * `signal` (an `AbortSignal` for Promise-based runs).
 */
export interface TaskContext<C, S, P> extends ResourceContext<P> {
  readonly connectors: C;
  readonly services: S;
  /** Emits once, on the first SIGTERM/SIGINT, then completes; late subscribers see it too. */
  readonly stop$: Observable<void>;
}
