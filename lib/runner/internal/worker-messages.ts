import type { OutcomeStatus } from '../../core/outcome.js';
import type { DashboardConnectorHealth } from '../../dashboard/dashboard-api.js';
import type { ShutdownSignal } from './shutdown-signals.js';

/** What a worker process is doing, as its heartbeats report it. */
export type WorkerState = 'starting' | 'fetching' | 'processing' | 'idle' | 'stopping';

/** A worker's liveness report, sent to the primary over IPC every `supervision.heartbeat`. */
export interface WorkerHeartbeat {
  readonly type: 'ergon:heartbeat';
  readonly workerId: number;
  readonly state: WorkerState;
  /** Transactions fetched and not settled yet. */
  readonly inFlight: number;
  /** Milliseconds since the worker last made progress (a fetch, a settlement, an outcome). */
  readonly sinceProgressMs: number;
  /** Outcomes of the worker's run so far, by status (for the primary's dashboard). */
  readonly ended?: Readonly<Record<OutcomeStatus, number>>;
  /**
   * What each connector's `health()` said last (those that answered), for the primary's
   * `/readyz` and dashboard.
   */
  readonly connectors?: readonly DashboardConnectorHealth[];
}

/** The primary asks a worker to stop (`force: false`: drain) or to stop now (`force: true`). */
export interface WorkerStopRequest {
  readonly type: 'ergon:stop';
  readonly signal: ShutdownSignal;
  readonly force: boolean;
}

const states: readonly string[] = ['starting', 'fetching', 'processing', 'idle', 'stopping'];

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null;
}

/**
 * Whether an IPC message is a {@link WorkerHeartbeat}.
 *
 * @example
 * ```ts
 * worker.on('message', (message) => { if (isWorkerHeartbeat(message)) seen(message.state); });
 * ```
 */
export function isWorkerHeartbeat(message: unknown): message is WorkerHeartbeat {
  return (
    isRecord(message) &&
    message['type'] === 'ergon:heartbeat' &&
    typeof message['workerId'] === 'number' &&
    typeof message['state'] === 'string' &&
    states.includes(message['state']) &&
    typeof message['inFlight'] === 'number' &&
    typeof message['sinceProgressMs'] === 'number' &&
    (message['connectors'] === undefined || areConnectorHealths(message['connectors']))
  );
}

function areConnectorHealths(value: unknown): value is readonly DashboardConnectorHealth[] {
  return (
    Array.isArray(value) &&
    value.every(
      (entry: unknown) =>
        isRecord(entry) &&
        typeof entry['name'] === 'string' &&
        typeof entry['healthy'] === 'boolean' &&
        typeof entry['state'] === 'string' &&
        (entry['detail'] === undefined || typeof entry['detail'] === 'string'),
    )
  );
}

/**
 * Whether an IPC message is a {@link WorkerStopRequest}.
 *
 * @example
 * ```ts
 * process.on('message', (message) => { if (isWorkerStopRequest(message)) stop(message.signal); });
 * ```
 */
export function isWorkerStopRequest(message: unknown): message is WorkerStopRequest {
  return (
    isRecord(message) &&
    message['type'] === 'ergon:stop' &&
    (message['signal'] === 'SIGTERM' || message['signal'] === 'SIGINT') &&
    typeof message['force'] === 'boolean'
  );
}
