import type * as t from 'io-ts';
import { BooleanFlag, type BooleanInput } from '../../policy/boolean-flag.js';
import { PositiveDuration, type DurationInput } from '../../policy/duration.js';
import { strictStruct } from '../../policy/strict-struct.js';
import { withDefault } from '../../policy/with-default.js';
import { listOf } from './list-codec.js';
import {
  MetricReaderConfigCodec,
  type MetricReaderConfig,
  type MetricReaderInput,
} from './metric-reader-config.js';

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
export const MetricsConfigCodec: t.Type<MetricsConfig, MetricsConfig, unknown> = strictStruct(
  'MetricsConfig',
  {
    enabled: withDefault(BooleanFlag, true),
    interval: withDefault(PositiveDuration, 60_000),
    readers: withDefault(listOf(MetricReaderConfigCodec), []),
  },
);
