import { orNull } from './or-null.js';
import { scalarCodec } from './scalar-codec.js';
import { withDefault } from './with-default.js';

const PolicyString = scalarCodec(
  'string',
  (u): u is string => typeof u === 'string',
  (u) => (typeof u === 'string' ? u : undefined),
);

/** Codec of a policy's `name`: a string, or `null` (also `""`, `"none"`, `"null"`); default `null`. */
export const PolicyNameCodec = withDefault(orNull(PolicyString), null);
