import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import {
  ConsoleSpanExporter,
  InMemorySpanExporter,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { SpanExporterConfig } from './config/traces-config.js';
import type { OtlpConnections } from './otlp-connections.js';
import { otlpGrpcOptions } from './otlp-grpc-options.js';

/**
 * The span exporter of an exporter configuration (a ready-made exporter is returned as it is);
 * an OTLP one is recorded in `connections` when given.
 *
 * @example
 * ```ts
 * spanExporter({ type: 'otlp', endpoint: 'http://localhost:4317', headers: {}, timeout: null });
 * ```
 */
export function spanExporter(
  config: SpanExporterConfig,
  connections?: OtlpConnections,
): SpanExporter {
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
