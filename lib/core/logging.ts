import type { Logger as LoglevelLogger } from 'loglevel';
import { describeError } from './renderers.js';

/**
 * What handlers log through: a loglevel logger (`ctx.logger.info('saved', { id })`). The
 * telemetry entry point installs a JSON formatter with trace ids on these loggers.
 */
export type Logger = Pick<LoglevelLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error'>;

/**
 * Logs `message` with `error` at `level`, and never throws: when the logger fails on the
 * error itself (Node's `console` throws on an Error whose getters throw), the line is
 * written again with the error described as text; a logger that fails even then is ignored,
 * since a broken log line must not break the work it reports on.
 */
export function logError(
  logger: Logger,
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  error: unknown,
): void {
  try {
    logger[level](message, error);
  } catch {
    try {
      logger[level](`${message}: ${describeError(error)}`);
    } catch {
      // Nothing left to log with.
    }
  }
}
