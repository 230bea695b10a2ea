import * as t from 'io-ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import {
  hasMethods,
  strictStruct,
  taggedUnion,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  BooleanFlag,
  type BooleanInput,
  keywordCodec,
  parseNumber,
  scalarCodec,
} from '../../policy/codecs/values.js';
import type { AttemptSpans } from '../../engine/internal/instrumentation/run-telemetry.js';
import { otlpEndpointProps, type OtlpEndpoint, type OtlpEndpointInput } from './otlp-endpoint.js';

/**
 * Which traces are recorded and exported. `ratio` keeps that share of new traces (by trace
 * id, so every service keeps the same ones); the `parentbased_*` samplers follow the caller's
 * decision when there is a parent (a transaction that carried a `traceparent`) and apply the
 * named rule to new traces. Default `parentbased_always_on`, as in OpenTelemetry.
 */
export type SamplerConfig =
  | {
      readonly type:
        'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off';
    }
  | { readonly type: 'ratio' | 'parentbased_ratio'; readonly ratio: number };

/** A {@link SamplerConfig} as a configuration accepts it (a name alone takes ratio 1). */
export type SamplerInput =
  | SamplerConfig['type']
  | { readonly type: SamplerConfig['type']; readonly ratio?: number | string };

const isRatio = (n: number): boolean => n >= 0 && n <= 1;

const Ratio = scalarCodec(
  'number from 0 to 1',
  (u): u is number => typeof u === 'number' && isRatio(u),
  (u) => {
    const n = parseNumber(u);
    return n !== undefined && isRatio(n) ? n : undefined;
  },
);

const plain = <T extends string>(type: T) => strictStruct(type, { type: t.literal(type) });

const ratioBased = <T extends string>(type: T) =>
  strictStruct(type, { type: t.literal(type), ratio: withDefault(Ratio, 1) });

/** Codec of {@link SamplerConfig}. */
const SamplerConfigCodec: t.Type<SamplerConfig, SamplerConfig> = taggedUnion('sampler', {
  always_on: plain('always_on'),
  always_off: plain('always_off'),
  ratio: ratioBased('ratio'),
  parentbased_always_on: plain('parentbased_always_on'),
  parentbased_always_off: plain('parentbased_always_off'),
  parentbased_ratio: ratioBased('parentbased_ratio'),
});

/**
 * Where finished spans go: `console` (printed, for development), `otlp` (a collector, Jaeger,
 * Tempo… over gRPC), `memory` (kept in an `InMemorySpanExporter`, for tests; find it in the
 * handle's `spanExporters`), or an exporter of your own.
 */
export type SpanExporterConfig =
  | { readonly type: 'console' }
  | { readonly type: 'memory' }
  | ({ readonly type: 'otlp' } & OtlpEndpoint)
  | SpanExporter;

/** A {@link SpanExporterConfig} as a configuration accepts it. */
export type SpanExporterInput =
  | 'console'
  | 'memory'
  | 'otlp'
  | { readonly type: 'console' | 'memory' }
  | ({ readonly type: 'otlp' } & OtlpEndpointInput)
  | SpanExporter;

const isSpanExporter = hasMethods<SpanExporter>('export', 'shutdown');

/** Codec of {@link SpanExporterConfig}. */
const SpanExporterConfigCodec: t.Type<SpanExporterConfig, SpanExporterConfig> = taggedUnion(
  'span exporter',
  {
    console: strictStruct('ConsoleSpanExporter', { type: t.literal('console') }),
    memory: strictStruct('MemorySpanExporter', { type: t.literal('memory') }),
    otlp: strictStruct('OtlpSpanExporter', { type: t.literal('otlp'), ...otlpEndpointProps }),
  },
  { name: 'a SpanExporter', is: isSpanExporter },
);

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
  /** When handler attempts get spans (default `always`; see {@link AttemptSpans}). */
  readonly attemptSpans: AttemptSpans;
}

/** A {@link TracesConfig} as a configuration accepts it. */
export interface TracesConfigInput {
  readonly enabled?: BooleanInput;
  readonly sampler?: SamplerInput;
  readonly processor?: SpanProcessorType;
  readonly exporters?: readonly SpanExporterInput[];
  readonly attemptSpans?: AttemptSpans;
}

const defaultSampler: SamplerConfig = Object.freeze({ type: 'parentbased_always_on' });

/** Codec of {@link TracesConfig}. */
export const TracesConfigCodec: t.Type<TracesConfig, TracesConfig> = strictStruct('TracesConfig', {
  enabled: withDefault(BooleanFlag, true),
  sampler: withDefault(SamplerConfigCodec, defaultSampler),
  processor: withDefault(keywordCodec<SpanProcessorType>(['batch', 'simple']), 'batch'),
  exporters: withDefault(t.readonlyArray(SpanExporterConfigCodec, 'list'), []),
  attemptSpans: withDefault(keywordCodec<AttemptSpans>(['always', 'onFailure']), 'always'),
});
