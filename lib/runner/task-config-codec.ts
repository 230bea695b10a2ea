import * as t from 'io-ts';
import { NonEmptyText, NonNegativeDuration, PositiveInteger } from '../policy/codecs/values.js';
import { guardCodec, optional, strictStruct, withDefault } from '../policy/codecs/structures.js';
import { DashboardConfigCodec } from '../dashboard/dashboard-config.js';
import { SupervisionConfigCodec } from './supervision-config-codec.js';
import {
  TelemetryConfigCodec,
  type TelemetryConfigInput,
} from '../telemetry/config/telemetry-config.js';
import { DefaultLogLevelCodec } from '../telemetry/logging/log-level.js';

/** Any function; the runner checks arity and results itself. */
type AnyFunction = (...args: never[]) => unknown;

const FunctionCodec = guardCodec('function', (u): u is AnyFunction => typeof u === 'function');

const FactoryRecord = withDefault(
  t.record(t.string, FunctionCodec, 'record of factory functions'),
  {},
);

/**
 * Checks the telemetry section with the telemetry codec (so its paths show under
 * `telemetry.`) but keeps the input as given: `setupTelemetry` decodes it again, merged with
 * the `OTEL_*` variables. Hand-written because it returns its input rather than the decoded
 * value, which no io-ts combinator does.
 */
const TelemetrySection = new t.Type<
  TelemetryConfigInput | undefined,
  TelemetryConfigInput | undefined,
  unknown
>(
  TelemetryConfigCodec.name,
  (u): u is TelemetryConfigInput | undefined => u === undefined || TelemetryConfigCodec.is(u),
  (u, c) => {
    if (u === undefined) return t.success(undefined);
    const result = TelemetryConfigCodec.validate(u, c);
    return result._tag === 'Left' ? result : t.success(u as TelemetryConfigInput);
  },
  t.identity,
);

/** Default of `shutdownGrace`: 30 s. */
export const DEFAULT_SHUTDOWN_GRACE = 30_000;

/**
 * The io-ts codec of a task configuration: every key checked (unknown keys rejected), every
 * wrong path reported, defaults filled (`connectors`/`services`/`policies` `{}`,
 * `shutdownGrace` 30 s, `workers` 1, `supervision` as {@link SupervisionConfigCodec} fills it, no `dashboard`,
 * `logLevel` from `ERGON_LOG_LEVEL`, else `info`).
 */
export const TaskConfigCodec = strictStruct('TaskConfig', {
  name: NonEmptyText,
  connectors: FactoryRecord,
  services: FactoryRecord,
  policies: withDefault(t.record(t.string, t.unknown, 'record of policies'), {}),
  run: FunctionCodec,
  exit: optional(FunctionCodec),
  shutdownGrace: withDefault(NonNegativeDuration, DEFAULT_SHUTDOWN_GRACE),
  telemetry: TelemetrySection,
  workers: withDefault(PositiveInteger, 1),
  supervision: SupervisionConfigCodec,
  dashboard: optional(DashboardConfigCodec),
  logLevel: DefaultLogLevelCodec(),
});
