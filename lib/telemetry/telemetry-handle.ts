import type { Resource } from '@opentelemetry/resources';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { IMetricReader, MeterProvider } from '@opentelemetry/sdk-metrics';
import type { NodeTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { TelemetryConfig } from './config/telemetry-config.js';
import type { LoggingHandle } from './logging/configure-logging.js';

/**
 * The telemetry `setupTelemetry` built and registered. Call `shutdown()` before the process
 * exits: it exports what is still buffered (OpenTelemetry's batch processors hold up to 5 s of
 * spans) and takes the providers out of the OpenTelemetry globals.
 *
 * @example
 * ```ts
 * const telemetry = setupTelemetry({ traces: { exporters: ['memory'], processor: 'simple' } });
 * const spans = telemetry.spanExporters[0] as InMemorySpanExporter;
 * process.once('SIGTERM', () => void telemetry.shutdown());
 * ```
 */
export interface TelemetryHandle {
  /** The configuration in force, defaults and environment filled in. */
  readonly config: TelemetryConfig;
  readonly resource: Resource;
  /** `undefined` when tracing is disabled. */
  readonly tracerProvider: NodeTracerProvider | undefined;
  /** `undefined` when metrics are disabled. */
  readonly meterProvider: MeterProvider | undefined;
  /** The provider behind the OTLP log sinks; `undefined` when there are none. */
  readonly loggerProvider: LoggerProvider | undefined;
  /** The span exporters, in configuration order (find a `memory` exporter here). */
  readonly spanExporters: readonly SpanExporter[];
  /** The metric readers, in configuration order (find the Prometheus exporter here). */
  readonly metricReaders: readonly IMetricReader[];
  readonly logging: LoggingHandle;
  /**
   * Exports everything buffered now. Rejects with `TelemetryExportError` when some part
   * failed (the others are still flushed).
   */
  forceFlush(): Promise<void>;
  /**
   * Flushes and shuts down every provider, exporter, reader and sink, stops the Prometheus
   * server, gives loglevel back its own output, and unregisters the globals, so
   * `setupTelemetry` can run again. Idempotent. Rejects with `TelemetryExportError` when some
   * part failed (the rest is still shut down).
   */
  shutdown(): Promise<void>;
  /**
   * Gives up on exporting: closes every OTLP exporter's connection now, dropping what it has
   * not exported, so a collector that does not answer cannot keep the process alive past a
   * stop's grace. Call it when `shutdown()` did not settle in the time there was (the runner
   * does); the pending `shutdown()` then settles soon after. Never throws.
   */
  abandon(): void;
}
