import type * as t from 'io-ts';
import { decodePolicy, orNull, strictStruct, withDefault } from './codecs/structures.js';
import { type RateLimit, RateLimitCodec, type RateLimitInput } from './policy-sections.js';
import {
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  PositiveInteger,
} from './codecs/values.js';
import type { ProducerPolicy } from './producer-policy.js';
import { type RetryPolicy, RetryPolicyCodec, type RetryPolicyInput } from './retry-policy.js';

/** How transactions are grouped and sent to a connector, fully decoded. */
export interface DispatchOptions {
  /** Most transactions per `connector.dispatch` call. */
  readonly batch: number;
  /** Longest wait in milliseconds for a batch to fill before it is sent anyway. */
  readonly maxWait: number;
  /** Attempts of each `connector.dispatch` call. */
  readonly retry: RetryPolicy;
  /** Most batches being dispatched at once. */
  readonly concurrency: number;
  /**
   * Most transactions sent per interval (`null`: no limit): a batch goes only with a permit
   * for each of its transactions, smaller than `batch` when fewer are due.
   */
  readonly rateLimit: RateLimit | null;
}

/** What {@link dispatchOptions} accepts: every field optional, env-style strings allowed. */
export interface DispatchOptionsInput {
  readonly batch?: IntegerInput;
  readonly maxWait?: DurationInput;
  readonly retry?: RetryPolicyInput | null;
  readonly concurrency?: IntegerInput;
  readonly rateLimit?: RateLimitInput | null;
}

/** The io-ts codec behind {@link dispatchOptions}. */
export const DispatchOptionsCodec: t.Type<DispatchOptions, DispatchOptions> = strictStruct(
  'DispatchOptions',
  {
    batch: withDefault(PositiveInteger, 100),
    maxWait: withDefault(NonNegativeDuration, 100),
    retry: RetryPolicyCodec,
    concurrency: withDefault(PositiveInteger, 1),
    rateLimit: withDefault(orNull(RateLimitCodec), null),
  },
);

/**
 * Decodes dispatch options, filling defaults (batches of 100, 100 ms max wait, one attempt,
 * one batch at a time).
 *
 * @example
 * ```ts
 * dispatchOptions({ batch: 500, maxWait: '50ms', retry: { maxAttempts: 3, backoff: '200ms' } });
 * ```
 * @throws PolicyError listing every wrong path.
 */
export function dispatchOptions(input?: DispatchOptionsInput): DispatchOptions {
  return decodePolicy(DispatchOptionsCodec, 'dispatch options', input);
}

/** The dispatch options a producer policy implies. */
export function dispatchOptionsOf(policy: ProducerPolicy): DispatchOptions {
  return {
    batch: policy.loop.batch.size,
    maxWait: policy.loop.batch.maxWait,
    retry: policy.dispatch.retry,
    concurrency: policy.dispatch.concurrency.value,
    rateLimit: policy.dispatch.rateLimit,
  };
}
