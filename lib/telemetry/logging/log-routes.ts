import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  FileLogSink,
  logFilePath,
  RotatingFileLogSink,
  TimedRotatingFileLogSink,
  writerLogFilePath,
} from './file-log-sink.js';
import { formatterFor } from './log-format.js';
import { levelRank, type LogLevelName } from './log-level.js';
import type { RoutedSink } from './log-pipeline.js';
import { ConsoleLogSink, type LogSink } from './log-sink.js';
import type { LoggingConfig, LogSinkConfig, OtlpSinkConfig } from './logging-config.js';
import { OtlpLogSink } from './otlp-log-sink.js';

/**
 * Whether a sink configuration is a sink of your own rather than a declarative one.
 *
 * @example
 * ```ts
 * config.sinks.filter(isCustomLogSink);
 * ```
 */
function isCustomLogSink(sink: LogSinkConfig): sink is LogSink {
  return typeof (sink as Partial<LogSink>).write === 'function';
}

/**
 * Whether a sink configuration is an OTLP sink.
 *
 * @example
 * ```ts
 * const otlpSinks = config.sinks.filter(isOtlpSinkConfig);
 * ```
 */
export function isOtlpSinkConfig(sink: LogSinkConfig): sink is OtlpSinkConfig {
  return !isCustomLogSink(sink) && sink.type === 'otlp';
}

/**
 * The sinks of a logging configuration with the level each one needs: the logging level, or a
 * sink's own level when that is stricter. All OTLP sinks share one sink writing to
 * `loggerProvider`, whose processors apply their own levels. File sinks are not opened here.
 * With `writer` (several processes log with this configuration), each rotating file gets the
 * writer's name in its path (see `writerLogFilePath`).
 *
 * @example
 * ```ts
 * const pipeline = new LogPipeline(logRoutes(config, provider), 'orders');
 * ```
 */
export function logRoutes(
  config: LoggingConfig,
  loggerProvider: LoggerProvider | undefined,
  writer?: string,
): RoutedSink[] {
  const task = config.task ?? undefined;
  const thresholdOf = (level: LogLevelName | null): number =>
    Math.max(levelRank(config.level), levelRank(level ?? config.level));
  const routes: RoutedSink[] = [];
  for (const sink of config.sinks) {
    if (isCustomLogSink(sink)) {
      routes.push({ sink, threshold: thresholdOf(null) });
      continue;
    }
    if (sink.type === 'otlp') continue;
    const format = formatterFor(sink.format ?? config.format);
    const threshold = thresholdOf(sink.level);
    switch (sink.type) {
      case 'console':
        routes.push({ sink: new ConsoleLogSink(format), threshold });
        break;
      case 'file':
        routes.push({ sink: new FileLogSink(logFilePath(sink.path, task), format), threshold });
        break;
      case 'rotatingFile':
        routes.push({
          sink: new RotatingFileLogSink(
            writerLogFilePath(logFilePath(sink.path, task), sink.path, writer),
            format,
            sink,
          ),
          threshold,
        });
        break;
      case 'timedRotatingFile':
        routes.push({
          sink: new TimedRotatingFileLogSink(
            writerLogFilePath(logFilePath(sink.path, task), sink.path, writer),
            format,
            sink,
          ),
          threshold,
        });
        break;
    }
  }
  if (loggerProvider !== undefined) {
    routes.push({ sink: new OtlpLogSink(loggerProvider), threshold: thresholdOf(null) });
  }
  return routes;
}
