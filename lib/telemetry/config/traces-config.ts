import type * as t from 'io-ts';
import { BooleanFlag, type BooleanInput } from '../../policy/boolean-flag.js';
import { strictStruct } from '../../policy/strict-struct.js';
import { withDefault } from '../../policy/with-default.js';
import { keywordCodec } from './keyword-codec.js';
import { listOf } from './list-codec.js';
import { SamplerConfigCodec, type SamplerConfig, type SamplerInput } from './sampler-config.js';
import {
  SpanExporterConfigCodec,
  type SpanExporterConfig,
  type SpanExporterInput,
} from './span-exporter-config.js';

/** How finished spans reach an exporter: in batches (production) or one by one (tests, debugging). */
export type SpanProcessorType = 'batch' | 'simple';

/** The tracing part of a telemetry configuration. */
export interface TracesConfig {
  /** `false` registers no tracer provider: the engine's spans cost next to nothing (default `true`). */
  readonly enabled: boolean;
  readonly sampler: SamplerConfig;
  /** `batch` (default; `OTEL_BSP_*` tune it) or `simple`. One processor per exporter. */
  readonly processor: SpanProcessorType;
  /**
   * Where spans go (default none: spans are still created, so logs carry trace ids, but not
   * exported).
   */
  readonly exporters: readonly SpanExporterConfig[];
}

/** A {@link TracesConfig} as a configuration accepts it. */
export interface TracesConfigInput {
  readonly enabled?: BooleanInput;
  readonly sampler?: SamplerInput;
  readonly processor?: SpanProcessorType;
  readonly exporters?: readonly SpanExporterInput[];
}

const defaultSampler: SamplerConfig = Object.freeze({ type: 'parentbased_always_on' });

/** Codec of {@link TracesConfig}. */
export const TracesConfigCodec: t.Type<TracesConfig, TracesConfig, unknown> = strictStruct(
  'TracesConfig',
  {
    enabled: withDefault(BooleanFlag, true),
    sampler: withDefault(SamplerConfigCodec, defaultSampler),
    processor: withDefault(keywordCodec<SpanProcessorType>(['batch', 'simple']), 'batch'),
    exporters: withDefault(listOf(SpanExporterConfigCodec), []),
  },
);
