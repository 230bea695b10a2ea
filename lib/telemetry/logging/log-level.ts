import { keywordCodec } from '../config/keyword-codec.js';

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
