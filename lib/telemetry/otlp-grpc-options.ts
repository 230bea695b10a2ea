import { Metadata } from '@grpc/grpc-js';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { OtlpEndpoint } from './config/otlp-endpoint.js';

/** The options every OTLP gRPC exporter (traces, metrics, logs) takes. */
export type OtlpGrpcOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/**
 * The options of an OTLP gRPC exporter for an endpoint configuration. Keys left unset let the
 * exporter fall back to the standard `OTEL_EXPORTER_OTLP_*` variables.
 *
 * @example
 * ```ts
 * new OTLPTraceExporter(otlpGrpcOptions({ endpoint: 'http://tempo:4317', headers: {}, timeout: null }));
 * ```
 */
export function otlpGrpcOptions(endpoint: OtlpEndpoint): OtlpGrpcOptions {
  const options: OtlpGrpcOptions = {};
  if (endpoint.endpoint !== null) options.url = endpoint.endpoint;
  if (endpoint.timeout !== null) options.timeoutMillis = endpoint.timeout;
  const headers = Object.entries(endpoint.headers);
  if (headers.length > 0) {
    const metadata = new Metadata();
    for (const [key, value] of headers) metadata.set(key, value);
    options.metadata = metadata;
  }
  return options;
}
