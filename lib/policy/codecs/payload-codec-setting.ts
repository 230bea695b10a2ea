import type * as t from 'io-ts';
import { guardCodec, withDefault } from './structures.js';
import { jsonCodec, type PayloadCodec } from '../../core/payload-codec.js';

function isPayloadCodec(u: unknown): u is PayloadCodec {
  if (typeof u !== 'object' || u === null) return false;
  const codec = u as Partial<Record<keyof PayloadCodec, unknown>>;
  return (
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function' &&
    typeof codec.contentType === 'string'
  );
}

/**
 * Codec of a connector's `codec` setting: a {@link PayloadCodec} object (`contentType`,
 * `encode`, `decode`), {@link jsonCodec} when missing.
 */
export const PayloadCodecSetting: t.Type<PayloadCodec, PayloadCodec> = withDefault(
  guardCodec('PayloadCodec { contentType, encode, decode }', isPayloadCodec),
  jsonCodec,
);
