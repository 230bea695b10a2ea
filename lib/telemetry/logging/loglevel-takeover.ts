import log, { type Logger, type MethodFactory } from 'loglevel';
import type { LogLevelName } from './log-level.js';
import type { LogPipeline } from './log-pipeline.js';

/**
 * Routes every loglevel logger (the root, the existing named ones such as the engine's
 * `ergon.<task>`, and those created later) through a {@link LogPipeline}, and sets the root
 * level, which loggers without a level of their own follow. `release` puts back the method
 * factories and the root level found at install, so a test can configure logging again.
 * Loggers given a level of their own (`logger.setLevel`) keep it. A loglevel plugin installed
 * before is replaced for as long as the takeover lasts.
 *
 * @example
 * ```ts
 * const takeover = LoglevelTakeover.install(pipeline, 'info');
 * log.getLogger('ergon.orders').info('saved'); // goes through the pipeline
 * takeover.release();
 * ```
 */
export class LoglevelTakeover {
  private constructor(
    private readonly rootFactory: MethodFactory,
    private readonly rootLevel: log.LogLevelNumbers,
    private readonly factories: ReadonlyMap<Logger, MethodFactory>,
  ) {}

  static install(pipeline: LogPipeline, level: LogLevelName): LoglevelTakeover {
    const loggers = Object.values(log.getLoggers());
    const takeover = new LoglevelTakeover(
      log.methodFactory,
      log.getLevel(),
      new Map(loggers.map((logger) => [logger, logger.methodFactory])),
    );
    const factory: MethodFactory = (methodName, _level, loggerName) => {
      const name = loggerNameText(loggerName);
      return (...args: unknown[]) => pipeline.write(methodName, name, args);
    };
    log.methodFactory = factory;
    for (const logger of loggers) logger.methodFactory = factory;
    log.setLevel(level, false);
    log.rebuild();
    return takeover;
  }

  release(): void {
    log.methodFactory = this.rootFactory;
    for (const logger of Object.values(log.getLoggers())) {
      logger.methodFactory = this.factories.get(logger) ?? this.rootFactory;
    }
    log.setLevel(this.rootLevel, false);
    log.rebuild();
  }
}

function loggerNameText(name: string | symbol | undefined): string {
  if (name === undefined) return 'root';
  return typeof name === 'symbol' ? (name.description ?? 'symbol') : name;
}
