import * as t from 'io-ts';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import {
  hasMethods,
  orNull,
  strictStruct,
  taggedUnion,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  BooleanFlag,
  FixedTcpPort,
  NonEmptyText,
  PositiveDuration,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
} from '../../policy/codecs/values.js';
import { otlpEndpointProps, type OtlpEndpoint, type OtlpEndpointInput } from './otlp-endpoint.js';

/** Prints metrics every `interval` (for development). */
export interface ConsoleMetricReaderConfig {
  readonly type: 'console';
  /** Milliseconds between exports; `null`: the metrics section's `interval`. */
  readonly interval: number | null;
}

/** Pushes metrics to a collector over OTLP gRPC every `interval`. */
export interface OtlpMetricReaderConfig extends OtlpEndpoint {
  readonly type: 'otlp';
  readonly interval: number | null;
}

/** Serves metrics for Prometheus to scrape at `http://<host>:<port><endpoint>`. */
export interface PrometheusMetricReaderConfig {
  readonly type: 'prometheus';
  /** `null`: `OTEL_EXPORTER_PROMETHEUS_PORT`, else 9464. */
  readonly port: number | null;
  /** `null`: `OTEL_EXPORTER_PROMETHEUS_HOST`, else `127.0.0.1` (loopback only). */
  readonly host: string | null;
  /** The scrape path (default `/metrics`). */
  readonly endpoint: string;
  /** Do not open the port (tests call the reader's `collect()` instead). Default `false`. */
  readonly preventServerStart: boolean;
}

/** Where metrics go: a declarative reader or a `MetricReader` of your own (tests). */
export type MetricReaderConfig =
  ConsoleMetricReaderConfig | OtlpMetricReaderConfig | PrometheusMetricReaderConfig | IMetricReader;

/** A {@link MetricReaderConfig} as a configuration accepts it. */
export type MetricReaderInput =
  | 'console'
  | 'otlp'
  | 'prometheus'
  | { readonly type: 'console'; readonly interval?: DurationInput | null }
  | ({ readonly type: 'otlp'; readonly interval?: DurationInput | null } & OtlpEndpointInput)
  | {
      readonly type: 'prometheus';
      readonly port?: IntegerInput | null;
      readonly host?: string | null;
      readonly endpoint?: string;
      readonly preventServerStart?: BooleanInput;
    }
  | IMetricReader;

const interval = withDefault(orNull(PositiveDuration), null);

const isMetricReader = hasMethods<IMetricReader>('collect', 'setMetricProducer', 'shutdown');

/** Codec of {@link MetricReaderConfig}. */
const MetricReaderConfigCodec: t.Type<MetricReaderConfig, MetricReaderConfig> = taggedUnion(
  'metric reader',
  {
    console: strictStruct('ConsoleMetricReader', { type: t.literal('console'), interval }),
    otlp: strictStruct('OtlpMetricReader', {
      type: t.literal('otlp'),
      interval,
      ...otlpEndpointProps,
    }),
    prometheus: strictStruct('PrometheusMetricReader', {
      type: t.literal('prometheus'),
      port: withDefault(orNull(FixedTcpPort), null),
      host: withDefault(orNull(NonEmptyText), null),
      endpoint: withDefault(NonEmptyText, '/metrics'),
      preventServerStart: withDefault(BooleanFlag, false),
    }),
  },
  { name: 'a MetricReader', is: isMetricReader },
);

/** The metrics part of a telemetry configuration. */
export interface MetricsConfig {
  /** `false` registers no meter provider (default `true`). */
  readonly enabled: boolean;
  /** Milliseconds between pushes of readers without their own `interval` (default 60 000). */
  readonly interval: number;
  /** Where metrics go (default none). */
  readonly readers: readonly MetricReaderConfig[];
}

/** A {@link MetricsConfig} as a configuration accepts it. */
export interface MetricsConfigInput {
  readonly enabled?: BooleanInput;
  readonly interval?: DurationInput;
  readonly readers?: readonly MetricReaderInput[];
}

/** Codec of {@link MetricsConfig}. */
export const MetricsConfigCodec: t.Type<MetricsConfig, MetricsConfig> = strictStruct(
  'MetricsConfig',
  {
    enabled: withDefault(BooleanFlag, true),
    interval: withDefault(PositiveDuration, 60_000),
    readers: withDefault(t.readonlyArray(MetricReaderConfigCodec, 'list'), []),
  },
);
