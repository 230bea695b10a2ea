import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricsConfig } from './config/metrics-config.js';
import { metricReader } from './metric-reader.js';
import type { OtlpConnections } from './otlp-connections.js';

/** A meter provider and the readers that collect from it. */
export interface BuiltMeterProvider {
  readonly provider: MeterProvider;
  readonly readers: readonly IMetricReader[];
}

/**
 * A meter provider for a metrics configuration, with its readers. Not registered: see
 * `setupTelemetry`.
 *
 * @example
 * ```ts
 * const { provider } = meterProvider(config.metrics, resource);
 * provider.getMeter('ergon.task').createCounter('consumer.transactions.total').add(1);
 * ```
 */
export function meterProvider(
  config: MetricsConfig,
  resource: Resource,
  connections?: OtlpConnections,
): BuiltMeterProvider {
  const readers = config.readers.map((reader) =>
    metricReader(reader, config.interval, connections),
  );
  return { provider: new MeterProvider({ resource, readers: [...readers] }), readers };
}
