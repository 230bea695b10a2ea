import type * as t from 'io-ts';
import { type Backoff, type BackoffInput, backoffProps, defaultBackoff } from './backoff.js';
import { decodePolicy, orNull, strictStruct, withDefault } from './codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  PositiveDuration,
  PositiveInteger,
} from './codecs/values.js';

/** How one stage (fetch, process, success, exception, …) is attempted. */
export interface RetryPolicy extends Backoff {
  /** Total attempts including the first (≥ 1). */
  readonly maxAttempts: number;
  /** Deadline of each attempt in milliseconds, or `null` for none. Expiry cancels the attempt. */
  readonly timeout: number | null;
}

/** A {@link RetryPolicy} as a policy accepts it: every key optional, env-style strings allowed. */
export interface RetryPolicyInput extends BackoffInput {
  /** Total attempts including the first, ≥ 1 (default 1). */
  readonly maxAttempts?: IntegerInput;
  /** Deadline of each attempt, > 0, or `null` for none (default `null`). */
  readonly timeout?: DurationInput | null;
}

/** The io-ts codec behind {@link retryPolicy}. */
export const RetryPolicyCodec: t.Type<RetryPolicy, RetryPolicy> = strictStruct('RetryPolicy', {
  maxAttempts: withDefault(PositiveInteger, 1),
  timeout: withDefault(orNull(PositiveDuration), null),
  ...backoffProps(defaultBackoff),
});

/**
 * The retry policy of a consumer's process stage: a {@link RetryPolicy} plus `durableAfter`.
 */
export interface ProcessRetryPolicy extends RetryPolicy {
  /**
   * A backoff longer than this many milliseconds is not slept through in memory (holding the
   * slot) but turned into a durable retry-later: the transaction is released with that delay
   * (outcome `released`, reason `retryLater`) and the connector delivers it again after it.
   * Each redelivery counts as one attempt toward `maxAttempts`. `null` (default): never.
   */
  readonly durableAfter: number | null;
}

/** A {@link ProcessRetryPolicy} as a policy accepts it. */
export interface ProcessRetryPolicyInput extends RetryPolicyInput {
  /** E.g. `'30s'`; `null` (default) for never. */
  readonly durableAfter?: DurationInput | null;
}

/** The io-ts codec of a consumer's `process.retry`. */
export const ProcessRetryPolicyCodec: t.Type<ProcessRetryPolicy, ProcessRetryPolicy> = strictStruct(
  'ProcessRetryPolicy',
  {
    maxAttempts: withDefault(PositiveInteger, 1),
    timeout: withDefault(orNull(PositiveDuration), null),
    durableAfter: withDefault(orNull(NonNegativeDuration), null),
    ...backoffProps(defaultBackoff),
  },
);

/**
 * Decodes a retry policy, filling defaults: one attempt, no timeout, backoff 0 with
 * multiplier 2, no cap, no jitter.
 *
 * @example
 * ```ts
 * retryPolicy({ maxAttempts: '3', timeout: '2s', backoff: 100 });
 * // { maxAttempts: 3, timeout: 2000, backoff: 100, backoffMultiplier: 2, backoffCap: null, jitter: 'none' }
 * ```
 * @throws PolicyError listing every wrong or unknown key.
 */
export function retryPolicy(input?: RetryPolicyInput): RetryPolicy {
  return decodePolicy(RetryPolicyCodec, 'retry policy', input);
}
