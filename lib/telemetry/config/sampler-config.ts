import type * as t from 'io-ts';
import { parseNumber } from '../../policy/parse-number.js';
import { scalarCodec } from '../../policy/scalar-codec.js';
import { strictStruct } from '../../policy/strict-struct.js';
import { withDefault } from '../../policy/with-default.js';
import { tagCodec, taggedUnion } from './tagged-union.js';

/**
 * Which traces are recorded and exported. `ratio` keeps that share of new traces (by trace
 * id, so every service keeps the same ones); the `parentbased_*` samplers follow the caller's
 * decision when there is a parent (a transaction that carried a `traceparent`) and apply the
 * named rule to new traces. Default `parentbased_always_on`, as in OpenTelemetry.
 */
export type SamplerConfig =
  | {
      readonly type:
        'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off';
    }
  | { readonly type: 'ratio' | 'parentbased_ratio'; readonly ratio: number };

/** A {@link SamplerConfig} as a configuration accepts it (a name alone takes ratio 1). */
export type SamplerInput =
  | SamplerConfig['type']
  | { readonly type: SamplerConfig['type']; readonly ratio?: number | string };

const isRatio = (n: number): boolean => n >= 0 && n <= 1;

const Ratio = scalarCodec(
  'number from 0 to 1',
  (u): u is number => typeof u === 'number' && isRatio(u),
  (u) => {
    const n = parseNumber(u);
    return n !== undefined && isRatio(n) ? n : undefined;
  },
);

const plain = <T extends string>(type: T) => strictStruct(type, { type: tagCodec(type) });

const ratioBased = <T extends string>(type: T) =>
  strictStruct(type, { type: tagCodec(type), ratio: withDefault(Ratio, 1) });

/** Codec of {@link SamplerConfig}. */
export const SamplerConfigCodec: t.Type<SamplerConfig, SamplerConfig, unknown> = taggedUnion(
  'sampler',
  {
    always_on: plain('always_on'),
    always_off: plain('always_off'),
    ratio: ratioBased('ratio'),
    parentbased_always_on: plain('parentbased_always_on'),
    parentbased_always_off: plain('parentbased_always_off'),
    parentbased_ratio: ratioBased('parentbased_ratio'),
  },
);
