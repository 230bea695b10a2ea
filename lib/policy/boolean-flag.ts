import { scalarCodec } from './scalar-codec.js';

/** A boolean as a policy accepts it: `true`/`false` or a word such as `"yes"`, `"off"`, `"1"`. */
export type BooleanInput = boolean | string;

const words: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/**
 * Reads `true`/`false` or one of the strings `true|false|1|0|yes|no|on|off` (trimmed,
 * case-insensitive). Returns `undefined` for anything else: garbage is an error, not `false`.
 */
export function parseBoolean(u: unknown): boolean | undefined {
  if (typeof u === 'boolean') return u;
  return typeof u === 'string' ? words.get(u.trim().toLowerCase()) : undefined;
}

/** A boolean in any {@link BooleanInput} form. */
export const BooleanFlag = scalarCodec(
  'boolean (true/false, yes/no, on/off, 1/0)',
  (u): u is boolean => typeof u === 'boolean',
  parseBoolean,
);
