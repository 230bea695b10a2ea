import { isPlainObject } from '../../policy/plain-object.js';
import { scalarCodec } from '../../policy/scalar-codec.js';

/** Headers (gRPC metadata) sent with every OTLP export, e.g. `{ authorization: 'Bearer …' }`. */
export type OtlpHeaders = Readonly<Record<string, string>>;

const isOtlpHeaders = (u: unknown): u is OtlpHeaders =>
  isPlainObject(u) && Object.values(u).every((value) => typeof value === 'string');

/** Codec of {@link OtlpHeaders}: an object whose values are strings. */
export const OtlpHeadersCodec = scalarCodec('object of strings', isOtlpHeaders, (u) =>
  isOtlpHeaders(u) ? u : undefined,
);
