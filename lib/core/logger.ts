import type { Logger as LoglevelLogger } from 'loglevel';

/**
 * What handlers log through: a loglevel logger (`ctx.logger.info('saved', { id })`). The
 * telemetry entry point installs a JSON formatter with trace ids on these loggers.
 */
export type Logger = Pick<LoglevelLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error'>;
