import type * as t from 'io-ts';
import type { DurationInput } from './duration.js';
import { PositiveDuration } from './duration.js';
import { orNull } from './or-null.js';
import { strictStruct } from './strict-struct.js';
import { withDefault } from './with-default.js';

/** `transactionRuntime` of a consumer or producer policy. */
export interface TransactionRuntime {
  /** Budget in milliseconds for one transaction's handlers, or `null` for none. */
  readonly timeout: number | null;
}

/** `transactionRuntime` as a policy accepts it. */
export interface TransactionRuntimeInput {
  /** Budget per transaction, > 0, or `null` for none (default 60000). */
  readonly timeout?: DurationInput | null;
}

/** Codec of `transactionRuntime`: `timeout` a positive duration or `null`, default 60000 ms. */
export const TransactionRuntimeCodec: t.Type<TransactionRuntime, TransactionRuntime, unknown> =
  strictStruct('TransactionRuntime', { timeout: withDefault(orNull(PositiveDuration), 60_000) });
