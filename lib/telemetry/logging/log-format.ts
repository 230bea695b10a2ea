import { keywordCodec } from '../../policy/codecs/values.js';
import { formatJsonLine } from './json-log-format.js';
import type { LogRecord } from './log-record.js';
import { formatPrettyLine } from './pretty-log-format.js';

/** `json`: one JSON object per line, for machines. `pretty`: a readable line, for development. */
export type LogFormat = 'json' | 'pretty';

/** Codec of a {@link LogFormat} (trimmed, case-insensitive; `text` means `pretty`). */
export const LogFormatCodec = keywordCodec<LogFormat>(['json', 'pretty'], { text: 'pretty' });

/** Turns a record into the text a console or file sink writes (without the newline). */
export type LogFormatter = (record: LogRecord) => string;

/**
 * The formatter of a format.
 *
 * @example
 * ```ts
 * const line = formatterFor('pretty')(record); // '12:00:01.123 INFO  ergon.orders saved'
 * ```
 */
export function formatterFor(format: LogFormat): LogFormatter {
  return format === 'json' ? formatJsonLine : formatPrettyLine;
}
