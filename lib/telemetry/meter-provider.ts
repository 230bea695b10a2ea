import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  type IMetricReader,
  ConsoleMetricExporter,
  InstrumentType,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { MetricReaderConfig, MetricsConfig } from './config/metrics-config.js';
import { EngineMetricProducer } from './engine-metric-producer.js';
import { loadOptionalPackage } from './optional-package.js';
import { type OtlpConnections, otlpGrpcOptions } from './otlp-connections.js';

/** A meter provider and the readers that collect from it. */
export interface BuiltMeterProvider {
  readonly provider: MeterProvider;
  readonly readers: readonly IMetricReader[];
  /** Shuts the provider down, then closes the readers' engine metric producers. */
  shutdown(): Promise<void>;
}

/**
 * A meter provider for a metrics configuration, with its readers. Not registered: see
 * `setupTelemetry`. Each reader it builds gets an {@link EngineMetricProducer}, so the
 * engine's histograms cost it a few additions per measurement; when the configuration holds a
 * ready-made reader (which cannot be given one), none does and the engine records its
 * histograms through the API, which every reader sees.
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
  const producers: EngineMetricProducer[] = [];
  const producerFor = config.readers.every((reader) => 'type' in reader)
    ? (exporter?: PushMetricExporter): EngineMetricProducer[] => {
        const temporality = exporter?.selectAggregationTemporality?.(InstrumentType.HISTOGRAM);
        const producer = new EngineMetricProducer(temporality === undefined ? {} : { temporality });
        producers.push(producer);
        return [producer];
      }
    : (): EngineMetricProducer[] => [];
  const readers = config.readers.map((reader) =>
    metricReader(reader, config.interval, producerFor, connections),
  );
  const provider = new MeterProvider({ resource, readers: [...readers] });
  return {
    provider,
    readers,
    shutdown: async () => {
      try {
        await provider.shutdown();
      } finally {
        for (const producer of producers) producer.close();
      }
    },
  };
}

/** The engine metric producers to give a reader pushing to `exporter` (none: a pull reader). */
type ProducerFor = (exporter?: PushMetricExporter) => EngineMetricProducer[];

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
  producerFor: ProducerFor,
  connections?: OtlpConnections,
): IMetricReader {
  if (!('type' in config)) return config;
  switch (config.type) {
    case 'console': {
      const exporter = new ConsoleMetricExporter();
      return new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: config.interval ?? defaultInterval,
        metricProducers: producerFor(exporter),
      });
    }
    case 'otlp': {
      const exportIntervalMillis = config.interval ?? defaultInterval;
      const exporter = new OTLPMetricExporter(otlpGrpcOptions(config));
      connections?.add(exporter);
      return new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis,
        metricProducers: producerFor(exporter),
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
        metricProducers: producerFor(),
      });
    }
  }
}

/** `OTEL_EXPORTER_PROMETHEUS_HOST` when set and not blank. */
function prometheusHostFromEnvironment(): string | undefined {
  const host = process.env['OTEL_EXPORTER_PROMETHEUS_HOST']?.trim();
  return host === undefined || host === '' ? undefined : host;
}
