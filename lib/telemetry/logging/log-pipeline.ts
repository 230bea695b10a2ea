import { settleAll } from '../telemetry-errors.js';
import { levelRank, type LogMethodName } from './log-level.js';
import { createLogRecord, type LogRecord } from './log-record.js';
import { SinkFailureWarning, type LogSink } from './log-sink.js';

/** A sink and the rank (see `levelRank`) a record needs to reach it. */
export interface RoutedSink {
  readonly sink: LogSink;
  readonly threshold: number;
}

/**
 * What every loglevel method calls while logging is configured: builds the record once (only
 * when some sink wants it) and hands it to each sink whose threshold it reaches. Never throws
 * into the caller: a failing sink is reported once as a process warning.
 *
 * @example
 * ```ts
 * const pipeline = new LogPipeline([{ sink, threshold: levelRank('info') }], 'orders');
 * pipeline.write('info', 'ergon.orders', ['saved', { id: 7 }]);
 * ```
 */
export class LogPipeline {
  private readonly warning = new SinkFailureWarning('logging');

  constructor(
    private readonly routes: readonly RoutedSink[],
    private readonly task: string | undefined,
  ) {}

  write(level: LogMethodName, logger: string, args: readonly unknown[]): void {
    const rank = levelRank(level);
    let record: LogRecord | undefined;
    for (const { sink, threshold } of this.routes) {
      if (rank < threshold) continue;
      try {
        record ??= createLogRecord(level, logger, args, this.task);
        sink.write(record);
      } catch (error) {
        this.warning.raise(error);
      }
    }
  }

  /** Flushes every sink that buffers; rejects with `TelemetryExportError` if one failed. */
  flush(): Promise<void> {
    return settleAll(
      'flush',
      this.routes.map(
        ({ sink }) =>
          () =>
            sink.flush?.(),
      ),
    );
  }

  /** Flushes and closes every sink; rejects with `TelemetryExportError` if one failed. */
  shutdown(): Promise<void> {
    return settleAll(
      'shutdown',
      this.routes.map(
        ({ sink }) =>
          () =>
            sink.shutdown?.(),
      ),
    );
  }
}
