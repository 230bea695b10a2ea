import type * as t from 'io-ts';
import { scalarCodec } from '../../policy/scalar-codec.js';

/**
 * A codec for one word out of `words`, as a configuration accepts it: trimmed and
 * case-insensitive, with `aliases` mapping other spellings (`warning` → `warn`) to a word.
 * Errors read `expected "a" | "b" | "c"`.
 *
 * @example
 * ```ts
 * const FormatCodec = keywordCodec(['json', 'pretty'] as const);
 * FormatCodec.decode(' JSON '); // right('json')
 * ```
 */
export function keywordCodec<W extends string>(
  words: readonly W[],
  aliases: Readonly<Record<string, W>> = {},
): t.Type<W, W, unknown> {
  const isWord = (u: unknown): u is W => typeof u === 'string' && words.some((w) => w === u);
  return scalarCodec(words.map((word) => `"${word}"`).join(' | '), isWord, (u) => {
    if (typeof u !== 'string') return undefined;
    const word = u.trim().toLowerCase();
    return isWord(word) ? word : aliases[word];
  });
}
