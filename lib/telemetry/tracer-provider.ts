import type { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { TracesConfig } from './config/traces-config.js';
import { CredentialMaskingSpanProcessor } from './credential-masking-span-processor.js';
import type { OtlpConnections } from './otlp-connections.js';
import { spanExporter } from './span-exporter.js';
import { traceSampler } from './trace-sampler.js';

/** A tracer provider and the exporters its processors feed. */
export interface BuiltTracerProvider {
  readonly provider: NodeTracerProvider;
  readonly exporters: readonly SpanExporter[];
}

/**
 * A Node tracer provider for a tracing configuration: the sampler, a processor that masks
 * credentials in failed spans, and one batch (or simple) processor per exporter. Not registered: see `setupTelemetry`.
 *
 * @example
 * ```ts
 * const { provider } = tracerProvider(config.traces, resource);
 * provider.getTracer('ergon-rx').startSpan('work').end();
 * ```
 */
export function tracerProvider(
  config: TracesConfig,
  resource: Resource,
  connections?: OtlpConnections,
): BuiltTracerProvider {
  const exporters = config.exporters.map((exporter) => spanExporter(exporter, connections));
  const provider = new NodeTracerProvider({
    resource,
    sampler: traceSampler(config.sampler),
    spanProcessors: [
      new CredentialMaskingSpanProcessor(),
      ...exporters.map((exporter) =>
        config.processor === 'simple'
          ? new SimpleSpanProcessor(exporter)
          : new BatchSpanProcessor(exporter),
      ),
    ],
  });
  return { provider, exporters };
}
