import * as t from 'io-ts';
import {
  BooleanFlag,
  NonEmptyText,
  PositiveDuration,
  PositiveInteger,
  TcpPort,
  type DurationInput,
  type IntegerInput,
} from '../policy/codecs/values.js';
import { optional, strictStruct, withDefault } from '../policy/codecs/structures.js';

/** Defaults of a task's `dashboard` section. */
export const DASHBOARD_DEFAULTS = {
  host: '127.0.0.1',
  window: 600_000,
  failures: 50,
  actions: true,
  allowedHosts: [] as readonly string[],
} as const;

/** A trace link template: a URL with `{traceId}` in it. */
const TraceLinkTemplate = t.refinement(
  NonEmptyText,
  (text) => text.includes('{traceId}'),
  'URL template containing {traceId}',
);

/**
 * The io-ts codec of a task's `dashboard` section: every key checked, defaults filled (`host`
 * `127.0.0.1`, `window` 10 min, `failures` 50, no trace link, `actions` on, no extra
 * allowed host names).
 */
export const DashboardConfigCodec = strictStruct('Dashboard', {
  port: TcpPort,
  host: withDefault(NonEmptyText, DASHBOARD_DEFAULTS.host),
  window: withDefault(PositiveDuration, DASHBOARD_DEFAULTS.window),
  failures: withDefault(PositiveInteger, DASHBOARD_DEFAULTS.failures),
  traceLink: optional(TraceLinkTemplate),
  actions: withDefault(BooleanFlag, DASHBOARD_DEFAULTS.actions),
  allowedHosts: withDefault(t.readonlyArray(NonEmptyText), DASHBOARD_DEFAULTS.allowedHosts),
});

/** The dashboard settings as decoded: milliseconds, defaults filled. */
export type DashboardSettings = t.TypeOf<typeof DashboardConfigCodec>;

/** A task's `dashboard` section as a task configuration (or `ergon run --dashboard`) gives it. */
export interface DashboardConfigInput {
  /** Where the page and its API listen (0: any free port; the runner logs the address). */
  readonly port: IntegerInput;
  /**
   * Default `127.0.0.1`: this machine only. `0.0.0.0` or `::` serve every interface — the
   * page shows failures' errors and ids, and has no authentication: put it behind your own.
   */
  readonly host?: string;
  /** How much history the charts keep (default `10m`). */
  readonly window?: DurationInput;
  /** How many of the last failures the page and `/api/failures` keep (default 50). */
  readonly failures?: IntegerInput;
  /**
   * Turns a failure's trace id into a link, e.g. `http://localhost:16686/trace/{traceId}`
   * (Jaeger) or `http://localhost:3000/explore?…{traceId}…` (Grafana Tempo).
   */
  readonly traceLink?: string;
  /**
   * Whether the page may change anything (default `true`): redrive and purge dead letters.
   * `false` leaves them read-only (`POST /api/dead-letters/…` answers 403).
   */
  readonly actions?: boolean | string;
  /**
   * Host names (besides `localhost` and IP addresses) under which a browser may reach the
   * dashboard's actions, e.g. `['ergon.internal']` behind your own proxy. A request whose
   * `Host` header names anything else is refused: a web page cannot point a name of its own at
   * this machine (DNS rebinding) and act on the dashboard.
   */
  readonly allowedHosts?: readonly string[];
}
