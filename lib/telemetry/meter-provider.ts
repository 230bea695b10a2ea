import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  type IMetricReader,
  ConsoleMetricExporter,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { MetricReaderConfig, MetricsConfig } from './config/metrics-config.js';
import { loadOptionalPackage } from './optional-package.js';
import { type OtlpConnections, otlpGrpcOptions } from './otlp-connections.js';

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

/**
 * The metric reader of a reader configuration (a ready-made reader is returned as it is).
 * Console and OTLP readers push every `interval` (theirs, else `defaultInterval`); the
 * Prometheus reader serves `/metrics` and starts listening at once unless
 * `preventServerStart`.
 *
 * @throws TelemetrySetupError naming the `npm install` to run when a Prometheus reader is
 * configured and `@opentelemetry/exporter-prometheus` is not installed.
 * @example
 * ```ts
 * metricReader({ type: 'prometheus', port: 9464, host: null, endpoint: '/metrics', preventServerStart: false }, 60_000);
 * ```
 */
function metricReader(
  config: MetricReaderConfig,
  defaultInterval: number,
  connections?: OtlpConnections,
): IMetricReader {
  if (!('type' in config)) return config;
  switch (config.type) {
    case 'console':
      return new PeriodicExportingMetricReader({
        exporter: new ConsoleMetricExporter(),
        exportIntervalMillis: config.interval ?? defaultInterval,
      });
    case 'otlp': {
      const exportIntervalMillis = config.interval ?? defaultInterval;
      const exporter = new OTLPMetricExporter(otlpGrpcOptions(config));
      connections?.add(exporter);
      return new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis,
        ...(config.timeout === null
          ? {}
          : { exportTimeoutMillis: Math.min(config.timeout, exportIntervalMillis) }),
      });
    }
    case 'prometheus': {
      const { PrometheusExporter } = loadOptionalPackage(
        '@opentelemetry/exporter-prometheus',
        'the Prometheus metric reader',
      );
      return new PrometheusExporter({
        ...(config.port === null ? {} : { port: config.port }),
        // Loopback unless asked otherwise, like the runner's health server: metrics are not
        // published to every interface by accident.
        host: config.host ?? prometheusHostFromEnvironment() ?? '127.0.0.1',
        endpoint: config.endpoint,
        preventServerStart: config.preventServerStart,
      });
    }
  }
}

/** `OTEL_EXPORTER_PROMETHEUS_HOST` when set and not blank. */
function prometheusHostFromEnvironment(): string | undefined {
  const host = process.env['OTEL_EXPORTER_PROMETHEUS_HOST']?.trim();
  return host === undefined || host === '' ? undefined : host;
}
