import type { Logger } from '../../../lib/index.js';

type KeptLevel = 'info' | 'warn';

/**
 * A logger that keeps what it is told at `levels` (default: `warn` only) as lines of text,
 * each prefixed with its level when more than one level is kept; the rest is dropped.
 */
export function keptLogger(levels: readonly KeptLevel[] = ['warn']): {
  logger: Logger;
  lines: string[];
} {
  const lines: string[] = [];
  const quiet = (): void => undefined;
  const keep =
    (level: KeptLevel) =>
    (...parts: unknown[]): void => {
      const text = parts.map(String).join(' ');
      lines.push(levels.length > 1 ? `${level} ${text}` : text);
    };
  return {
    lines,
    logger: {
      trace: quiet,
      debug: quiet,
      info: levels.includes('info') ? keep('info') : quiet,
      warn: levels.includes('warn') ? keep('warn') : quiet,
      error: quiet,
    },
  };
}
