import type { SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { Environment } from './config/telemetry-environment.js';
import { telemetryConfig, type TelemetryConfigInput } from './config/telemetry-config.js';
import { GlobalRegistration } from './global-registration.js';
import { configureLogging, type LoggingHandle } from './logging/configure-logging.js';
import { meterProvider } from './meter-provider.js';
import { OtlpConnections } from './otlp-connections.js';
import { settleAll } from './telemetry-errors.js';
import type { TelemetryHandle } from './telemetry-handle.js';
import { telemetryResource } from './telemetry-resource.js';
import { tracerProvider } from './tracer-provider.js';

/** Where {@link setupTelemetry} reads the `OTEL_*` variables from. */
export interface SetupTelemetryOptions {
  /** Default `process.env`. */
  readonly env?: Environment;
  /** This process's name among several logging with this configuration (see `configureLogging`). */
  readonly writer?: string;
  /**
   * Span processors to add to the tracer provider, after the credential masking and before
   * the exporters' (the runner adds the dashboard's, which keeps failed transactions' trace ids).
   */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Sets up OpenTelemetry for the process from one declarative configuration: a Node tracer
 * provider (sampler, batch or simple processors, console/OTLP/memory exporters), a meter
 * provider (console/OTLP push readers, a Prometheus `/metrics` endpoint), and logging (JSON or
 * pretty records with trace ids to console, files, rotating files and OTLP), all with one
 * resource (`service.name`, `ergon.task.name`, `ergon.task.execution.id`, host, pid). Registers
 * them as the OpenTelemetry globals, which is all the engine needs: it only talks to
 * `@opentelemetry/api`. Without a configuration it reads the standard `OTEL_*` variables;
 * what the configuration says wins over them.
 *
 * @example
 * ```ts
 * const telemetry = setupTelemetry({
 *   resource: { serviceName: 'shop', taskName: 'orders' },
 *   traces: { exporters: [{ type: 'otlp', endpoint: 'http://localhost:4317' }] },
 *   metrics: { readers: [{ type: 'prometheus', port: 9464 }] },
 *   logs: { level: 'info', format: 'json', sinks: ['console'] },
 * });
 * try {
 *   await lastValueFrom(consume(connector, task, policy));
 * } finally {
 *   await telemetry.shutdown();
 * }
 * ```
 * @throws PolicyError listing every wrong key (or naming the bad `OTEL_*` variable).
 * @throws TelemetrySetupError when OpenTelemetry already has a global tracer or meter
 * provider (shut the previous handle down first), or a log file cannot be opened.
 */
export function setupTelemetry(
  input?: TelemetryConfigInput,
  options: SetupTelemetryOptions = {},
): TelemetryHandle {
  const config = telemetryConfig(input, options.env ?? process.env);
  const resource = telemetryResource(config.resource);
  const connections = new OtlpConnections();
  const traces = config.traces.enabled
    ? tracerProvider(config.traces, resource, connections, options.spanProcessors)
    : undefined;
  const metrics = config.metrics.enabled
    ? meterProvider(config.metrics, resource, connections)
    : undefined;
  const discard = (): void => {
    void traces?.provider.shutdown().catch(() => undefined);
    void metrics?.shutdown().catch(() => undefined);
  };

  let globals: GlobalRegistration;
  try {
    globals = GlobalRegistration.install({
      tracerProvider: traces?.provider,
      meterProvider: metrics?.provider,
      attemptSpans: config.traces.attemptSpans,
    });
  } catch (error) {
    discard();
    throw error;
  }
  let logging: LoggingHandle;
  try {
    logging = configureLogging(config.logs, {
      resource,
      otlpConnections: connections,
      writer: options.writer,
    });
  } catch (error) {
    globals.release();
    discard();
    throw error;
  }
  if (logging.loggerProvider !== undefined) globals.addLoggerProvider(logging.loggerProvider);

  let shuttingDown: Promise<void> | undefined;
  return {
    config,
    resource,
    tracerProvider: traces?.provider,
    meterProvider: metrics?.provider,
    loggerProvider: logging.loggerProvider,
    spanExporters: traces?.exporters ?? [],
    metricReaders: metrics?.readers ?? [],
    logging,
    forceFlush: () =>
      settleAll('flush', [
        () => traces?.provider.forceFlush(),
        () => metrics?.provider.forceFlush(),
        () => logging.flush(),
      ]),
    shutdown: () => {
      shuttingDown ??= settleAll('shutdown', [
        () => traces?.provider.shutdown(),
        () => metrics?.shutdown(),
        () => logging.shutdown(),
        () => globals.release(),
      ]);
      return shuttingDown;
    },
    abandon: () => connections.closeNow(),
  };
}
