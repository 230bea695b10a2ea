import type * as t from 'io-ts';
import {
  decodePolicy,
  isPlainObject,
  orNull,
  strictStruct,
  withDefault,
  guardCodec,
} from '../../policy/codecs/structures.js';
import { NonEmptyText } from '../../policy/codecs/values.js';
import {
  LoggingConfigCodec,
  type LoggingConfig,
  type LoggingConfigInput,
} from '../logging/logging-config.js';
import {
  MetricsConfigCodec,
  type MetricsConfig,
  type MetricsConfigInput,
} from './metrics-config.js';
import { telemetryInputFromEnvironment, type Environment } from './telemetry-environment.js';
import { TracesConfigCodec, type TracesConfig, type TracesConfigInput } from './traces-config.js';

/** A resource attribute's value. */
export type ResourceAttributeValue = string | number | boolean;

/** What the exported telemetry says about who sent it. */
export interface ResourceConfig {
  /**
   * `service.name`; `null` falls back to `OTEL_SERVICE_NAME`, then a `service.name` in
   * `attributes`, then `taskName`, then OpenTelemetry's `unknown_service:node`.
   */
  readonly serviceName: string | null;
  /** `ergon.task.name`, and the `task` of log records outside any task context. */
  readonly taskName: string | null;
  /** More resource attributes (`deployment.environment.name`, …); ergon's own keys win. */
  readonly attributes: Readonly<Record<string, ResourceAttributeValue>>;
}

/** A {@link ResourceConfig} as a configuration accepts it. */
export interface ResourceConfigInput {
  readonly serviceName?: string | null;
  readonly taskName?: string | null;
  readonly attributes?: Readonly<Record<string, ResourceAttributeValue>>;
}

const isAttributeValue = (u: unknown): u is ResourceAttributeValue =>
  typeof u === 'string' || typeof u === 'boolean' || (typeof u === 'number' && Number.isFinite(u));

const isAttributes = (u: unknown): u is Readonly<Record<string, ResourceAttributeValue>> =>
  isPlainObject(u) && Object.values(u).every(isAttributeValue);

const noAttributes: Readonly<Record<string, ResourceAttributeValue>> = Object.freeze({});

/** Codec of {@link ResourceConfig}. */
const ResourceConfigCodec: t.Type<ResourceConfig, ResourceConfig> = strictStruct('ResourceConfig', {
  serviceName: withDefault(orNull(NonEmptyText), null),
  taskName: withDefault(orNull(NonEmptyText), null),
  attributes: withDefault(
    guardCodec('object of strings, numbers and booleans', isAttributes),
    noAttributes,
  ),
});

/** Everything `setupTelemetry` builds, fully decoded. */
export interface TelemetryConfig {
  readonly resource: ResourceConfig;
  readonly traces: TracesConfig;
  readonly metrics: MetricsConfig;
  readonly logs: LoggingConfig;
}

/** A {@link TelemetryConfig} as `setupTelemetry` accepts it: every key optional. */
export interface TelemetryConfigInput {
  readonly resource?: ResourceConfigInput;
  readonly traces?: TracesConfigInput;
  readonly metrics?: MetricsConfigInput;
  readonly logs?: LoggingConfigInput;
}

/**
 * The io-ts codec behind {@link telemetryConfig}, for embedding telemetry in a larger
 * configuration (it does not read the environment).
 *
 * @example
 * ```ts
 * const AppConfig = strictStruct('AppConfig', { telemetry: TelemetryConfigCodec, policy: ConsumerPolicyCodec });
 * ```
 */
export const TelemetryConfigCodec: t.Type<TelemetryConfig, TelemetryConfig> = strictStruct(
  'TelemetryConfig',
  {
    resource: ResourceConfigCodec,
    traces: TracesConfigCodec,
    metrics: MetricsConfigCodec,
    logs: LoggingConfigCodec,
  },
);

const sections = ['resource', 'traces', 'metrics', 'logs'] as const;

/**
 * Decodes a telemetry configuration over the standard `OTEL_*` variables: each key of each
 * section comes from `input` when given there, else from the environment, else from the
 * default (see `docs/telemetry.md`). Logs take `resource.taskName` as their task unless they
 * name one.
 *
 * @example
 * ```ts
 * // OTEL_TRACES_EXPORTER=otlp OTEL_SERVICE_NAME=shop
 * telemetryConfig({ resource: { taskName: 'orders' } }, process.env).traces.exporters;
 * // [{ type: 'otlp', endpoint: null, headers: {}, timeout: null }]
 * ```
 * @throws PolicyError naming the variable for a bad `OTEL_*` value, or listing every wrong
 * key of `input` with its path.
 */
export function telemetryConfig(
  input: TelemetryConfigInput | undefined,
  env: Environment,
): TelemetryConfig {
  const fromEnvironment: Record<string, unknown> = { ...telemetryInputFromEnvironment(env) };
  const merged: Record<string, unknown> = { ...fromEnvironment };
  const explicit: unknown = input ?? {};
  if (isPlainObject(explicit)) {
    for (const [key, value] of Object.entries(explicit)) {
      const base = fromEnvironment[key];
      const known = (sections as readonly string[]).includes(key);
      merged[key] =
        known && isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
    }
  }
  const config = decodePolicy(
    TelemetryConfigCodec,
    'telemetry configuration',
    isPlainObject(explicit) ? merged : explicit,
  );
  if (config.logs.task !== null || config.resource.taskName === null) return config;
  return { ...config, logs: { ...config.logs, task: config.resource.taskName } };
}
