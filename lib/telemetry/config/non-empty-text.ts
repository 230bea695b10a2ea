import { scalarCodec } from '../../policy/scalar-codec.js';

/** Codec of a string with something other than spaces in it; decodes to the trimmed string. */
export const NonEmptyText = scalarCodec(
  'non-empty string',
  (u): u is string => typeof u === 'string' && u.trim() !== '',
  (u) => (typeof u === 'string' && u.trim() !== '' ? u.trim() : undefined),
);
