import { isRight } from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import log from 'loglevel';
import { keywordCodec } from '../../policy/codecs/values.js';

/** The loglevel methods a record can come from, lowest first. */
export type LogMethodName = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** A threshold: records below it are dropped; `silent` drops everything. */
export type LogLevelName = LogMethodName | 'silent';

const levelNames = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;

/**
 * Codec of a log level: one of `trace|debug|info|warn|error|silent` (trimmed,
 * case-insensitive), also accepting the Python spellings `warning`, `critical`, `fatal`.
 */
export const LogLevelCodec = keywordCodec<LogLevelName>(levelNames, {
  warning: 'warn',
  critical: 'error',
  fatal: 'error',
  off: 'silent',
  none: 'silent',
});

/**
 * The rank of a level, as loglevel numbers them (trace 0 … silent 5): a record of level `a`
 * passes a threshold `b` when `levelRank(a) >= levelRank(b)`.
 *
 * @example
 * ```ts
 * levelRank('warn') >= levelRank('info'); // true: warnings pass an info threshold
 * ```
 */
export function levelRank(level: LogLevelName): number {
  return levelNames.indexOf(level);
}

/** The environment variable that sets the log level of a process: `ERGON_LOG_LEVEL`. */
const logLevelVariable = 'ERGON_LOG_LEVEL';

/**
 * Codec of a log level that decodes a missing one (`undefined`) to `ERGON_LOG_LEVEL` when set
 * (any spelling {@link LogLevelCodec} accepts), else `info`, read from `env` at decode time; a wrong `ERGON_LOG_LEVEL` is a decode failure naming it.
 * Hand-written because its default is read, and may fail, at decode time, which `withDefault`
 * (a fixed value) cannot express.
 */
export function DefaultLogLevelCodec(
  env: Readonly<Record<string, string | undefined>> = process.env,
): t.Type<LogLevelName, LogLevelName> {
  return new t.Type<LogLevelName, LogLevelName, unknown>(
    LogLevelCodec.name,
    LogLevelCodec.is,
    (u, c) => {
      if (u !== undefined) return LogLevelCodec.validate(u, c);
      const value = env[logLevelVariable];
      if (value === undefined || value.trim() === '') return t.success('info');
      const level = LogLevelCodec.decode(value);
      return isRight(level)
        ? level
        : t.failure(
            value,
            c,
            `${logLevelVariable} to be one of trace|debug|info|warn|error|silent (it is ${JSON.stringify(value)}; fix or unset it)`,
          );
    },
    t.identity,
  );
}

/**
 * Sets the level of every loglevel logger that has no level of its own (the root level,
 * which the engine's `ergon.<task>` loggers and those of `getLogger` follow), including the
 * loggers created before.
 *
 * @example
 * ```ts
 * applyLogLevel(defaultLogLevel()); // what the runner does when logging is not configured
 * ```
 */
export function applyLogLevel(level: LogLevelName): void {
  log.setLevel(level, false);
  log.rebuild();
}
