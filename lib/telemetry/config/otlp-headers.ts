import * as t from 'io-ts';
import { MASK } from '../../core/mask-credentials.js';
import { isPlainObject } from '../../policy/plain-object.js';

/** Headers (gRPC metadata) sent with every OTLP export, e.g. `{ authorization: 'Bearer …' }`. */
export type OtlpHeaders = Readonly<Record<string, string>>;

const isOtlpHeaders = (u: unknown): u is OtlpHeaders =>
  isPlainObject(u) && Object.values(u).every((value) => typeof value === 'string');

/**
 * What a configuration error shows of bad headers: the keys, and the type of each value in
 * place of the value (header values are tokens; a string one shows as `***`).
 */
function withoutValues(u: unknown): unknown {
  if (!isPlainObject(u)) return typeof u === 'string' ? MASK : u;
  return Object.fromEntries(
    Object.entries(u).map(([key, value]) => [
      key,
      typeof value === 'string' ? MASK : `<${value === null ? 'null' : typeof value}>`,
    ]),
  );
}

/**
 * Codec of {@link OtlpHeaders}: an object whose values are strings. A failure never shows a
 * header's value (they hold bearer tokens and API keys), only its key and type.
 */
export const OtlpHeadersCodec = new t.Type<OtlpHeaders, OtlpHeaders, unknown>(
  'object of strings',
  isOtlpHeaders,
  (u, c) => (isOtlpHeaders(u) ? t.success(u) : t.failure(withoutValues(u), c)),
  t.identity,
);
