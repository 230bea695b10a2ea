import * as t from 'io-ts';
import {
  BooleanFlag,
  NonNegativeDuration,
  PositiveDuration,
  type DurationInput,
  NonNegativeInteger,
  type IntegerInput,
  TcpPort,
  isNonBlankText,
} from '../policy/codecs/values.js';
import { optional, strictStruct, withDefault } from '../policy/codecs/structures.js';

/** Defaults of the `supervision` section of a task configuration. */
export const SUPERVISION_DEFAULTS = {
  heartbeat: 1_000,
  wedgedAfter: 10_000,
  stalledAfter: 120_000,
  startupGrace: 30_000,
  healthCheck: 5_000,
  eventLoopWatchdog: true,
  restart: { backoff: 1_000, backoffCap: 30_000, maxRestarts: 5 },
} as const;

const RestartCodec = strictStruct('RestartPolicy', {
  backoff: withDefault(NonNegativeDuration, SUPERVISION_DEFAULTS.restart.backoff),
  backoffCap: withDefault(NonNegativeDuration, SUPERVISION_DEFAULTS.restart.backoffCap),
  maxRestarts: withDefault(NonNegativeInteger, SUPERVISION_DEFAULTS.restart.maxRestarts),
});

const HostName = t.refinement(t.string, isNonBlankText, 'host name or address');

const HealthHttpCodec = strictStruct('HealthHttp', {
  port: TcpPort,
  host: withDefault(HostName, '127.0.0.1'),
});

/**
 * The io-ts codec of the `supervision` section: every key checked, defaults filled
 * (heartbeat 1 s, wedgedAfter 10 s, stalledAfter 120 s, startupGrace 30 s, healthCheck 5 s,
 * eventLoopWatchdog on, restart backoff 1 s capped at 30 s, at most 5 restarts per worker, no
 * HTTP probes; with `http`, its `host` defaults to `127.0.0.1`).
 */
export const SupervisionConfigCodec = strictStruct('Supervision', {
  heartbeat: withDefault(PositiveDuration, SUPERVISION_DEFAULTS.heartbeat),
  wedgedAfter: withDefault(PositiveDuration, SUPERVISION_DEFAULTS.wedgedAfter),
  stalledAfter: withDefault(PositiveDuration, SUPERVISION_DEFAULTS.stalledAfter),
  startupGrace: withDefault(PositiveDuration, SUPERVISION_DEFAULTS.startupGrace),
  healthCheck: withDefault(PositiveDuration, SUPERVISION_DEFAULTS.healthCheck),
  eventLoopWatchdog: withDefault(BooleanFlag, SUPERVISION_DEFAULTS.eventLoopWatchdog),
  restart: RestartCodec,
  http: optional(HealthHttpCodec),
});

/** The supervision settings as decoded: durations in milliseconds, defaults filled. */
export type SupervisionSettings = t.TypeOf<typeof SupervisionConfigCodec>;

/** The `supervision` section as a task configuration accepts it (every key optional). */
export interface SupervisionConfigInput {
  /** How often each worker reports to the primary (default `1s`). */
  readonly heartbeat?: DurationInput;
  /**
   * Kill and replace a worker whose heartbeats stopped this long; in a single process, the
   * event-loop watchdog kills the process whose event loop was blocked this long (default `10s`).
   */
  readonly wedgedAfter?: DurationInput;
  /**
   * Kill and replace a worker with in-flight work and no progress this long; in every process,
   * the run's watchdog reports in-flight work without progress, a fetch under way, or no fetch
   * at all with nothing in flight for this long (default `120s`).
   */
  readonly stalledAfter?: DurationInput;
  /**
   * How long a new worker may take to send its first heartbeat; the run's watchdog reports a
   * start-up (connectors and services being created) that takes longer (default `30s`).
   */
  readonly startupGrace?: DurationInput;
  /** How often the run's watchdog asks each connector's `health()` (default `5s`). */
  readonly healthCheck?: DurationInput;
  /**
   * A worker thread that kills the process (SIGKILL) when its event loop was blocked for
   * `wedgedAfter` (default `true`; off while an inspector is attached, and in pool workers,
   * which the primary watches).
   */
  readonly eventLoopWatchdog?: boolean | string;
  /** Restarts of a worker that died: `backoff` doubling per restart up to `backoffCap`. */
  readonly restart?: {
    readonly backoff?: DurationInput;
    readonly backoffCap?: DurationInput;
    readonly maxRestarts?: IntegerInput;
  };
  /**
   * Serve `/healthz` and `/readyz` on this port (of the primary of a pool, else of the
   * process running the task), on `host` (default
   * `127.0.0.1`: this machine only; `0.0.0.0` or `::` for every interface, as a Kubernetes
   * probe of the pod's address needs).
   */
  readonly http?: { readonly port: IntegerInput; readonly host?: string };
}
