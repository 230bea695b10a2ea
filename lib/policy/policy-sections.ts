import * as t from 'io-ts';
import { orNull, strictStruct, withDefault } from './codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  matchKeyword,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from './codecs/values.js';
import { type RetryPolicy, RetryPolicyCodec, type RetryPolicyInput } from './retry-policy.js';

/** Codec of a policy's `name`: a string, or `null` (also `""`, `"none"`, `"null"`); default `null`. */
export const PolicyNameCodec = withDefault(orNull(t.string), null);

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
export const ConcurrencyCodec: t.Type<Concurrency, Concurrency> = strictStruct('Concurrency', {
  value: withDefault(PositiveInteger, 1),
});

/** A stage's own retry policy. */
export interface StagePolicy {
  readonly retry: RetryPolicy;
}

/** A {@link StagePolicy} as a policy accepts it; `null` means all defaults. */
export interface StagePolicyInput {
  readonly retry?: RetryPolicyInput | null;
}

/** Codec of a stage's policy: its `retry` policy, defaults as in `retryPolicy()`. */
export const StagePolicyCodec: t.Type<StagePolicy, StagePolicy> = strictStruct('StagePolicy', {
  retry: RetryPolicyCodec,
});

/** `transactionRuntime` of a consumer or producer policy. */
export interface TransactionRuntime {
  /** Budget in milliseconds for one transaction's handlers, or `null` for none. */
  readonly timeout: number | null;
  /**
   * After how many milliseconds a transaction still running is logged (once, at `warn`):
   * `null` for half its budget (the smallest of `timeout`, the main stage's
   * `retry.timeout × maxAttempts` and `loop.timeout`; no notice when none is set), `false`
   * for never.
   */
  readonly noticeAfter: number | false | null;
}

/** `transactionRuntime` as a policy accepts it. */
export interface TransactionRuntimeInput {
  /** Budget per transaction, > 0, or `null` for none (default 60000). */
  readonly timeout?: DurationInput | null;
  /** A positive duration, `false` (or `"off"`) for no notice, `null` for half the budget (default). */
  readonly noticeAfter?: DurationInput | false | null;
}

const offWords = ['off', 'false'];

/** A positive duration, or `false` / `"off"` / `"false"` for no notice. */
const DurationOrOff = scalarCodec<number | false>(
  'positive duration or false',
  (u): u is number | false => u === false || PositiveDuration.is(u),
  (u) => {
    if (u === false || matchKeyword(u, offWords) !== undefined) return false;
    const duration = PositiveDuration.decode(u);
    return duration._tag === 'Right' ? duration.right : undefined;
  },
);

/**
 * Codec of `transactionRuntime`: `timeout` a positive duration or `null`, default 60000 ms;
 * `noticeAfter` a positive duration, `false` or `null` (default `null`: half the budget).
 */
export const TransactionRuntimeCodec: t.Type<TransactionRuntime, TransactionRuntime> = strictStruct(
  'TransactionRuntime',
  {
    timeout: withDefault(orNull(PositiveDuration), 60_000),
    noticeAfter: withDefault(orNull(DurationOrOff), null),
  },
);
