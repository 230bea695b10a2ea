import type * as t from 'io-ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { strictStruct } from '../../policy/strict-struct.js';
import { hasMethods } from './has-methods.js';
import { otlpEndpointProps, type OtlpEndpoint, type OtlpEndpointInput } from './otlp-endpoint.js';
import { tagCodec, taggedUnion } from './tagged-union.js';

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
export const SpanExporterConfigCodec: t.Type<SpanExporterConfig, SpanExporterConfig, unknown> =
  taggedUnion(
    'span exporter',
    {
      console: strictStruct('ConsoleSpanExporter', { type: tagCodec('console') }),
      memory: strictStruct('MemorySpanExporter', { type: tagCodec('memory') }),
      otlp: strictStruct('OtlpSpanExporter', { type: tagCodec('otlp'), ...otlpEndpointProps }),
    },
    { name: 'a SpanExporter', is: isSpanExporter },
  );
