import type * as t from 'io-ts';
import { type IntegerInput, PositiveInteger } from './integer.js';
import { strictStruct } from './strict-struct.js';
import { withDefault } from './with-default.js';

/** `loop.concurrency` of a consumer or producer policy: most transactions in flight at once. */
export interface Concurrency {
  readonly value: number;
}

/** `loop.concurrency` as a policy accepts it; `null` means the default. */
export interface ConcurrencyInput {
  /** Most transactions in flight at once, ≥ 1 (default 1). */
  readonly value?: IntegerInput;
}

/** Codec of `loop.concurrency`: `value` a positive integer, default 1. */
export const ConcurrencyCodec: t.Type<Concurrency, Concurrency, unknown> = strictStruct(
  'Concurrency',
  { value: withDefault(PositiveInteger, 1) },
);
