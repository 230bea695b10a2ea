import { SpanStatusCode, type Attributes, type SpanStatus } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { maskCredentials } from '../core/mask-credentials.js';
import type { SamplerConfig, SpanExporterConfig, TracesConfig } from './config/traces-config.js';
import { type OtlpConnections, otlpGrpcOptions } from './otlp-connections.js';

/** A tracer provider and the exporters its processors feed. */
export interface BuiltTracerProvider {
  readonly provider: NodeTracerProvider;
  readonly exporters: readonly SpanExporter[];
}

/**
 * A Node tracer provider for a tracing configuration: the sampler, a processor that masks
 * credentials in failed spans, `processors` (the runner's own, e.g. the dashboard's), and one
 * batch (or simple) processor per exporter. Not registered: see `setupTelemetry`.
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
  processors: readonly SpanProcessor[] = [],
): BuiltTracerProvider {
  const exporters = config.exporters.map((exporter) => spanExporter(exporter, connections));
  const provider = new NodeTracerProvider({
    resource,
    sampler: traceSampler(config.sampler),
    spanProcessors: [
      new CredentialMaskingSpanProcessor(),
      ...processors,
      ...exporters.map((exporter) =>
        config.processor === 'simple'
          ? new SimpleSpanProcessor(exporter)
          : new BatchSpanProcessor(exporter),
      ),
    ],
  });
  return { provider, exporters };
}

/**
 * The OpenTelemetry sampler of a sampler configuration.
 *
 * @example
 * ```ts
 * traceSampler({ type: 'parentbased_ratio', ratio: 0.1 }); // ParentBased{root=TraceIdRatioBased{0.1}}
 * ```
 */
function traceSampler(config: SamplerConfig): Sampler {
  switch (config.type) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'ratio':
      return new TraceIdRatioBasedSampler(config.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_ratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}

/**
 * The span exporter of an exporter configuration (a ready-made exporter is returned as it is);
 * an OTLP one is recorded in `connections` when given.
 *
 * @example
 * ```ts
 * spanExporter({ type: 'otlp', endpoint: 'http://localhost:4317', headers: {}, timeout: null });
 * ```
 */
function spanExporter(config: SpanExporterConfig, connections?: OtlpConnections): SpanExporter {
  if (!('type' in config)) return config;
  switch (config.type) {
    case 'console':
      return new ConsoleSpanExporter();
    case 'memory':
      return new InMemorySpanExporter();
    case 'otlp':
      return record(new OTLPTraceExporter(otlpGrpcOptions(config)), connections);
  }
}

function record<E extends object>(exporter: E, connections: OtlpConnections | undefined): E {
  return connections === undefined ? exporter : connections.add(exporter);
}

/**
 * Masks credentials (`maskCredentials`) in what a failed span says about its error before any
 * exporter sees it: the attributes of its events (`exception.message`,
 * `exception.stacktrace` of `recordException`), its status message and, on a span with
 * status ERROR, its string attributes. A driver error that prints a connection URL with its
 * password so reaches no collector. Runs first among the provider's processors; spans
 * without events or error status are not touched (nothing to pay on the happy path).
 *
 * @example
 * ```ts
 * new NodeTracerProvider({ spanProcessors: [new CredentialMaskingSpanProcessor(), new BatchSpanProcessor(exporter)] });
 * ```
 */
class CredentialMaskingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    for (const event of span.events) {
      if (event.attributes !== undefined) maskAttributes(event.attributes);
    }
    if (span.status.code !== SpanStatusCode.ERROR) return;
    maskAttributes(span.attributes);
    if (span.status.message !== undefined) {
      const status: SpanStatus = { ...span.status, message: maskCredentials(span.status.message) };
      (span as { status: SpanStatus }).status = status;
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function maskAttributes(attributes: Attributes): void {
  const writable = attributes as Record<string, unknown>;
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') {
      const masked = maskCredentials(value);
      if (masked !== value) writable[key] = masked;
    }
  }
}
