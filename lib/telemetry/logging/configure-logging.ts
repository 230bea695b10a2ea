import type { Resource } from '@opentelemetry/resources';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import { describeError } from '../../core/renderers.js';
import type { OtlpConnections } from '../otlp-connections.js';
import { settleAll, TelemetrySetupError } from '../telemetry-errors.js';
import { telemetryResource } from '../telemetry-resource.js';
import { LogPipeline, type RoutedSink } from './log-pipeline.js';
import { isOtlpSinkConfig, logRoutes } from './log-routes.js';
import { loggingConfig, type LoggingConfig, type LoggingConfigInput } from './logging-config.js';
import { LoglevelTakeover } from './loglevel-takeover.js';
import { otlpLoggerProvider } from './otlp-log-sink.js';

/** How {@link configureLogging} fits into a wider telemetry setup. */
export interface ConfigureLoggingOptions {
  /**
   * The resource of logs exported over OTLP (`setupTelemetry` passes its own). Default: built
   * from the configuration's `task` and the `OTEL_*` resource variables.
   */
  readonly resource?: Resource;
  /**
   * This process's name among several that log with the same configuration (`worker-2`,
   * `primary`: the runner of a worker pool sets it): rotating files get it in their path, so
   * each has one writer. Default: none (one process).
   */
  readonly writer?: string;
  /** Where the OTLP sinks' exporters are recorded (`setupTelemetry` passes its own). */
  readonly otlpConnections?: OtlpConnections;
}

/**
 * The logging set up by {@link configureLogging}.
 *
 * @example
 * ```ts
 * const logging = configureLogging({ format: 'pretty' });
 * await logging.shutdown(); // loglevel prints as before
 * ```
 */
export interface LoggingHandle {
  readonly config: LoggingConfig;
  /** The OpenTelemetry logger provider behind the OTLP sinks; `undefined` when there are none. */
  readonly loggerProvider: LoggerProvider | undefined;
  /** Exports what OTLP sinks have buffered (console and file sinks write synchronously). */
  flush(): Promise<void>;
  /**
   * Flushes and closes every sink and gives loglevel back its own console output and level.
   * Idempotent.
   */
  shutdown(): Promise<void>;
}

interface ActiveLogging {
  readonly takeover: LoglevelTakeover;
  readonly close: () => Promise<void>;
}

let active: ActiveLogging | undefined;

/**
 * Formats and routes every loglevel logger of the process: the engine's `ergon.<task>`
 * loggers, those from {@link getLogger}, and any other. Records carry `trace_id`, `span_id`
 * and `transaction_id` from the context active at the call. Console and file sinks write
 * synchronously (nothing to lose at exit); OTLP sinks batch and are flushed by `shutdown`.
 * Configuring again replaces the previous setup (whose sinks are closed).
 *
 * @example
 * ```ts
 * const logging = configureLogging({
 *   level: 'info',
 *   format: 'json',
 *   sinks: ['console', { type: 'rotatingFile', path: 'logs/{task}.log', maxBytes: 5_000_000, backups: 3 }],
 *   task: 'orders',
 * });
 * getLogger('orders.db').info('connected', { pool: 4 });
 * await logging.shutdown();
 * ```
 * @throws PolicyError listing every wrong key of the configuration.
 * @throws TelemetrySetupError when a log file cannot be opened.
 */
export function configureLogging(
  input?: LoggingConfigInput,
  options: ConfigureLoggingOptions = {},
): LoggingHandle {
  const config = loggingConfig(input);
  const otlpSinks = config.sinks.filter(isOtlpSinkConfig);
  const resource = (): Resource =>
    options.resource ??
    telemetryResource({ serviceName: null, taskName: config.task, attributes: {} });
  const loggerProvider =
    otlpSinks.length === 0
      ? undefined
      : otlpLoggerProvider(otlpSinks, resource(), options.otlpConnections);
  const routes = logRoutes(config, loggerProvider, options.writer);
  openSinks(routes, loggerProvider);
  const pipeline = new LogPipeline(routes, config.task ?? undefined);

  replaceActive();
  const takeover = LoglevelTakeover.install(pipeline, config.level);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= settleAll('shutdown', [
      () => pipeline.shutdown(),
      () => loggerProvider?.shutdown(),
    ]);
    return closing;
  };
  const current: ActiveLogging = { takeover, close };
  active = current;
  return {
    config,
    loggerProvider,
    flush: () => settleAll('flush', [() => pipeline.flush(), () => loggerProvider?.forceFlush()]),
    shutdown: () => {
      if (active === current) {
        active = undefined;
        takeover.release();
      }
      return close();
    },
  };
}

function openSinks(
  routes: readonly RoutedSink[],
  loggerProvider: LoggerProvider | undefined,
): void {
  try {
    for (const { sink } of routes) sink.open?.();
  } catch (error) {
    for (const { sink } of routes) void sink.shutdown?.().catch(() => undefined);
    void loggerProvider?.shutdown().catch(() => undefined);
    throw new TelemetrySetupError(`cannot open a log sink: ${describeError(error)}`, {
      cause: error,
    });
  }
}

function replaceActive(): void {
  if (active === undefined) return;
  const previous = active;
  active = undefined;
  previous.takeover.release();
  previous.close().catch(() => undefined);
}
