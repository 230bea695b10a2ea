import type { BreakerState } from '../telemetry/metrics-reading.js';
import type { OutcomeStatus } from '../core/outcome.js';
import type { Stage } from '../core/errors.js';

/** Transactions per status, as counts or as rates per second. */
export type StatusCounts = Readonly<Record<OutcomeStatus, number>>;

/** Latency percentiles in milliseconds (`null`: no transaction ended in the period). */
export interface LatencyPercentiles {
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** One point of the dashboard's charts, taken about once a second. */
export interface DashboardSample extends LatencyPercentiles {
  /** When it was taken (epoch ms). */
  readonly at: number;
  /** Transactions ended per second since the point before, by status. */
  readonly rates: StatusCounts;
  readonly inFlight: number;
  /** Sum of the concurrency limits of the running consumer loops (`null`: none reported). */
  readonly limit: number | null;
}

/** A circuit breaker's state as the dashboard shows it. */
export type { BreakerState };

/** A connector's queue depth (`count()`) and health (`health()`), where it has them. */
export interface DashboardConnector {
  readonly name: string;
  /** Transactions waiting, `null` without `count()` or before its first answer. */
  readonly depth: number | null;
  /** Why `count()` failed last, if it did. */
  readonly depthError?: string;
  /** `null` without `health()` or before its first answer. */
  readonly healthy: boolean | null;
  readonly state?: string;
  readonly detail?: string;
}

/** What a connector's `health()` said last, as a pool worker's heartbeat carries it. */
export interface DashboardConnectorHealth {
  readonly name: string;
  readonly healthy: boolean;
  readonly state: string;
  readonly detail?: string;
}

/** A worker process of a pool, as the primary sees it. */
export interface DashboardWorker {
  readonly workerId: number;
  /** `starting`, `fetching`, `processing`, `idle`, `stopping`, or `restarting`/`done`. */
  readonly state: string;
  readonly pid: number | null;
  readonly inFlight: number;
  readonly restarts: number;
  readonly sinceProgressMs: number | null;
  /** Its connectors' health, as its last heartbeat said (those that answered `health()`). */
  readonly connectors: readonly DashboardConnectorHealth[];
}

/** What the run's watchdog reports (see docs/operations.md). */
export interface DashboardProblem {
  readonly kind: string;
  readonly subject: string;
  readonly detail: string;
  /** Epoch ms. */
  readonly since: number;
}

/** `GET /api/status`, and the `status` events of `/api/events`. */
export interface DashboardStatus {
  readonly task: string;
  /** `single` (one process) or `pool` (this is the primary of a worker pool). */
  readonly mode: 'single' | 'pool';
  /** `starting`, `running`, `stopping` or `closing`. */
  readonly phase: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly now: number;
  /** Transactions ended since the start, by status. */
  readonly totals: StatusCounts;
  /** Over the last minute. */
  readonly ratePerSecond: number;
  readonly latency: LatencyPercentiles;
  readonly inFlight: number;
  readonly limit: number | null;
  /** `null`: no run has a circuit breaker. */
  readonly breaker: BreakerState | null;
  /** Rate-limit pauses (the downstream said "too many requests") in the last minute. */
  readonly rateLimitPauses: number | null;
  readonly connectors: readonly DashboardConnector[];
  /** `null` in a single process. */
  readonly workers: readonly DashboardWorker[] | null;
  readonly health: {
    readonly alive: boolean;
    readonly ready: boolean;
    readonly problems: readonly DashboardProblem[];
  };
  /** Whether metrics reach the dashboard (OpenTelemetry could be set up). */
  readonly metrics: boolean;
  /** The charts' points, oldest first (the last `window`). */
  readonly series: readonly DashboardSample[];
}

/**
 * One failed transaction (`failed`, `timeout`, `exception`), newest first in
 * `GET /api/failures`. `actions` lists what the page may offer on the failure itself: empty
 * (an outcome does not say which connector it came from, so a dead-lettered one is redriven
 * from the dead-letter panel, `GET /api/dead-letters`, where its connector is known).
 */
export interface DashboardFailure {
  /** Epoch ms. */
  readonly at: number;
  readonly transactionId: string;
  readonly status: Exclude<OutcomeStatus, 'success' | 'released'>;
  /** `true` when it was dead-lettered (no `onException`, or it failed too). */
  readonly deadLettered: boolean;
  readonly stage: Stage | null;
  readonly errorType: string;
  readonly error: string;
  readonly traceId: string | null;
  /** The trace id in the `traceLink` template, when there are both. */
  readonly traceUrl: string | null;
  readonly actions: readonly string[];
}

/** `GET /api/failures`. */
export interface DashboardFailures {
  readonly failures: readonly DashboardFailure[];
}

/** One dead letter as `GET /api/dead-letters` lists it. */
export interface DashboardDeadLetter {
  readonly id: string;
  readonly error: string;
  readonly stage: string | null;
  readonly reason: string;
  /** Epoch ms. */
  readonly deadLetteredAt: number;
  readonly deliveryCount: number;
  /** Where the connector keeps it (for humans). */
  readonly location: string;
}

/** The dead letters of one connector of the task. */
export interface DashboardDeadLetterConnector {
  readonly name: string;
  /** `false`: the connector keeps no dead letters it can read back; `reason` says why. */
  readonly available: boolean;
  readonly reason?: string;
  /** The oldest first, at most `limit` of them. */
  readonly letters: readonly DashboardDeadLetter[];
  /** There are more than `letters` holds. */
  readonly more: boolean;
  /** Why listing failed this time (the broker did not answer, …). */
  readonly error?: string;
}

/** `GET /api/dead-letters`. */
export interface DashboardDeadLetters {
  /** Whether redrive and purge are offered (`dashboard.actions`). */
  readonly actions: boolean;
  readonly connectors: readonly DashboardDeadLetterConnector[];
}

/** The body of `POST /api/dead-letters/redrive` and `POST /api/dead-letters/purge`. */
export interface DashboardDeadLetterAction {
  /** The connector's name in the task. */
  readonly connector: string;
  /** The transaction ids to act on (at least one). */
  readonly ids: readonly string[];
}
