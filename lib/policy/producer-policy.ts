import type * as t from 'io-ts';
import {
  ConcurrencyCodec,
  type ConcurrencyInput,
  PolicyNameCodec,
  type RateLimit,
  RateLimitCodec,
  type RateLimitInput,
  type StagePolicy,
  StagePolicyCodec,
  type StagePolicyInput,
  type TransactionRuntime,
  TransactionRuntimeCodec,
  type TransactionRuntimeInput,
} from './policy-sections.js';
import { decodePolicy, orNull, strictStruct, withDefault } from './codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  NonNegativeInteger,
  PositiveDuration,
  PositiveInteger,
} from './codecs/values.js';
import { type RetryPolicy, RetryPolicyCodec, type RetryPolicyInput } from './retry-policy.js';

/** Everything that shapes a producer, fully decoded with defaults filled in. */
export interface ProducerPolicy {
  /** A name for logs and lookup, or `null`. */
  readonly name: string | null;
  readonly loop: {
    /** `value`: most transactions prepared at once. */
    readonly concurrency: { readonly value: number };
    readonly batch: {
      /** Most transactions dispatched in one call. */
      readonly size: number;
      /** Longest wait in milliseconds for a batch to fill before it is dispatched anyway. */
      readonly maxWait: number;
    };
    /** Most transactions produced in all, or `null` for no limit. */
    readonly limit: number | null;
    /** Deadline of the whole run in milliseconds, or `null` for none. */
    readonly timeout: number | null;
  };
  /** `timeout`: budget in milliseconds for one transaction's handlers, or `null` for none. */
  readonly transactionRuntime: TransactionRuntime;
  readonly prepare: StagePolicy;
  readonly success: StagePolicy;
  readonly exception: StagePolicy;
  readonly dispatch: {
    readonly retry: RetryPolicy;
    /** `value`: most batches being dispatched at once (default 1). */
    readonly concurrency: { readonly value: number };
    /** Most transactions dispatched per interval, or `null` for no limit. */
    readonly rateLimit: RateLimit | null;
  };
}

/**
 * A {@link ProducerPolicy} as `producerPolicy()` accepts it: every key optional, durations
 * and numbers also as strings, nullable values also as `""`/`"none"`/`"null"`, and `null`
 * for an object meaning all its defaults.
 */
export interface ProducerPolicyInput {
  readonly name?: string | null;
  readonly loop?: {
    readonly concurrency?: ConcurrencyInput | null;
    readonly batch?: {
      readonly size?: IntegerInput;
      readonly maxWait?: DurationInput;
    } | null;
    readonly limit?: IntegerInput | null;
    readonly timeout?: DurationInput | null;
  } | null;
  readonly transactionRuntime?: TransactionRuntimeInput | null;
  readonly prepare?: StagePolicyInput | null;
  readonly success?: StagePolicyInput | null;
  readonly exception?: StagePolicyInput | null;
  readonly dispatch?: {
    readonly retry?: RetryPolicyInput | null;
    readonly concurrency?: ConcurrencyInput | null;
    readonly rateLimit?: RateLimitInput | null;
  } | null;
}

/** The io-ts codec behind {@link producerPolicy}. */
export const ProducerPolicyCodec: t.Type<ProducerPolicy, ProducerPolicy> = strictStruct(
  'ProducerPolicy',
  {
    name: PolicyNameCodec,
    loop: strictStruct('ProducerLoop', {
      concurrency: ConcurrencyCodec,
      batch: strictStruct('ProducerBatch', {
        size: withDefault(PositiveInteger, 100),
        maxWait: withDefault(NonNegativeDuration, 100),
      }),
      limit: withDefault(orNull(NonNegativeInteger), null),
      timeout: withDefault(orNull(PositiveDuration), null),
    }),
    transactionRuntime: TransactionRuntimeCodec,
    prepare: StagePolicyCodec,
    success: StagePolicyCodec,
    exception: StagePolicyCodec,
    dispatch: strictStruct('DispatchPolicy', {
      retry: RetryPolicyCodec,
      concurrency: ConcurrencyCodec,
      rateLimit: withDefault(orNull(RateLimitCodec), null),
    }),
  },
);

/**
 * Decodes a producer policy, filling defaults (see `docs/policies.md` for the table) and
 * accepting env-style strings. Decoding a decoded policy returns an equal policy.
 *
 * @example
 * ```ts
 * const policy = producerPolicy({
 *   loop: { concurrency: { value: 4 }, batch: { size: '500', maxWait: '1s' } },
 *   dispatch: { retry: { maxAttempts: 5, backoff: 100, backoffCap: '10s' } },
 * });
 * policy.loop.batch; // { size: 500, maxWait: 1000 }
 * ```
 * @throws PolicyError listing every wrong or unknown key with its path.
 */
export function producerPolicy(input?: ProducerPolicyInput): ProducerPolicy {
  return decodePolicy(ProducerPolicyCodec, 'producer policy', input);
}
