import type * as t from 'io-ts';
import { parseNumber } from './parse-number.js';
import { scalarCodec } from './scalar-codec.js';

/** An integer as a policy accepts it: a number or a decimal string such as `"3"`. */
export type IntegerInput = number | string;

function integerAtLeast(minimum: number, name: string): t.Type<number, number, unknown> {
  const allowed = (n: number): boolean => Number.isSafeInteger(n) && n >= minimum;
  return scalarCodec(
    name,
    (u): u is number => typeof u === 'number' && allowed(u),
    (u) => {
      const n = parseNumber(u);
      return n !== undefined && allowed(n) ? n : undefined;
    },
  );
}

/** An integer ≥ 1, as a number or a string (`"3"`; `"2.5"` is rejected). */
export const PositiveInteger = integerAtLeast(1, 'positive integer');

/** An integer ≥ 0, as a number or a string. */
export const NonNegativeInteger = integerAtLeast(0, 'non-negative integer');
