import * as t from 'io-ts';
import {
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from './codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  keywordCodec,
  matchKeyword,
  NonNegativeInteger,
  parseNumber,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from './codecs/values.js';
import { isRateLimiter, type RateLimiter } from './rate-limiter.js';
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

/** A rate limit: at most `limit` per `interval`, plus a `burst` allowed at once after a pause. */
export interface RateLimit {
  /** Starts (or emissions, or sends) per interval, ≥ 1. */
  readonly limit: number;
  /** The interval in milliseconds, > 0. */
  readonly interval: number;
  /** Extra ones allowed at once after an idle spell, ≥ 0: no window of `interval` holds more than `limit + burst`. */
  readonly burst: number;
}

/** A {@link RateLimit} as a policy accepts it. */
export interface RateLimitInput {
  readonly limit: IntegerInput;
  /** Default `1s`. */
  readonly interval?: DurationInput;
  /** Default 0. */
  readonly burst?: IntegerInput;
}

/** Codec of a rate limit: `limit` a positive integer, `interval` (default 1 s), `burst` (default 0). */
export const RateLimitCodec: t.Type<RateLimit> = strictStruct('RateLimit', {
  limit: PositiveInteger,
  interval: withDefault(PositiveDuration, 1000),
  burst: withDefault(NonNegativeInteger, 0),
});

/**
 * What the loop does while its shared {@link RateLimiter} cannot answer: `closed` starts
 * nothing and asks again with a backoff; `open` lets each process keep the limit on its own.
 */
export type LimiterErrorMode = 'open' | 'closed';

/** `loop.rateLimit`: a {@link RateLimit}, kept in the process or by a shared {@link RateLimiter}. */
export interface LoopRateLimit extends RateLimit {
  /** The limiter shared by the workers, or `null`: each process keeps the limit on its own. */
  readonly limiter: RateLimiter | null;
  /** While `limiter` cannot answer (`closed` by default: the limit holds even then). */
  readonly onLimiterError: LimiterErrorMode;
}

/** A {@link LoopRateLimit} as a policy accepts it. */
export interface LoopRateLimitInput extends RateLimitInput {
  /** Default `null`: in the process. */
  readonly limiter?: RateLimiter | null;
  /** Default `closed`. */
  readonly onLimiterError?: LimiterErrorMode;
}

/** An object with a `take` function (checked, not decoded: it is used as it is). */
const RateLimiterOption = guardCodec('RateLimiter (an object with a take function)', isRateLimiter);

/**
 * Codec of `loop.rateLimit`: a {@link RateLimitCodec} plus `limiter` (an object with a `take`
 * function, or `null`) and `onLimiterError` (`"open"` or `"closed"`, default `"closed"`).
 */
export const LoopRateLimitCodec: t.Type<LoopRateLimit, LoopRateLimit> = strictStruct(
  'LoopRateLimit',
  {
    limit: PositiveInteger,
    interval: withDefault(PositiveDuration, 1000),
    burst: withDefault(NonNegativeInteger, 0),
    limiter: withDefault(orNull(RateLimiterOption), null),
    onLimiterError: withDefault(keywordCodec<LimiterErrorMode>(['open', 'closed']), 'closed'),
  },
);

/**
 * Decodes a rate limit, for the {@link rateLimit} operator.
 *
 * @example
 * ```ts
 * rateLimitPolicy({ limit: 100, interval: '1s', burst: 10 }); // { limit: 100, interval: 1000, burst: 10 }
 * ```
 * @throws PolicyError naming each wrong key, e.g. `limit: expected positive integer, got 0`.
 */
export function rateLimitPolicy(input: RateLimitInput): RateLimit {
  return decodePolicy(RateLimitCodec, 'rate limit', input);
}

/** `loop.circuitBreaker`: when to stop starting transactions because the downstream fails. */
export interface CircuitBreakerPolicy {
  /** Share of failed attempts (0–1] among those of the last `window` that opens the breaker. */
  readonly failureRatio: number;
  /** Attempts the window must hold before the ratio counts. */
  readonly minCalls: number;
  /** The sliding window of attempts, in milliseconds. */
  readonly window: number;
  /** How long the breaker stays open before one probe goes through, in milliseconds. */
  readonly openFor: number;
}

/** A {@link CircuitBreakerPolicy} as a policy accepts it. */
export interface CircuitBreakerPolicyInput {
  /** Default 0.5. */
  readonly failureRatio?: number | string;
  /** Default 10. */
  readonly minCalls?: IntegerInput;
  /** Default `10s`. */
  readonly window?: DurationInput;
  /** Default `30s`. */
  readonly openFor?: DurationInput;
}

const Ratio = scalarCodec<number>(
  'number in (0, 1]',
  (u): u is number => typeof u === 'number' && u > 0 && u <= 1,
  (u) => {
    const value = parseNumber(u);
    return value !== undefined && value > 0 && value <= 1 ? value : undefined;
  },
);

/** Codec of `loop.circuitBreaker`. */
export const CircuitBreakerCodec: t.Type<CircuitBreakerPolicy> = strictStruct('CircuitBreaker', {
  failureRatio: withDefault(Ratio, 0.5),
  minCalls: withDefault(PositiveInteger, 10),
  window: withDefault(PositiveDuration, 10_000),
  openFor: withDefault(PositiveDuration, 30_000),
});

/** How `loop.concurrency` adapts: additive increase / multiplicative decrease, or by latency gradient. */
export type AdaptiveMode = 'aimd' | 'gradient';

/** `loop.concurrency` of a consumer: a fixed `value`, or a limit that adapts within `min`–`max`. */
export interface LoopConcurrency extends Concurrency {
  /** `null`: the limit is `value`, fixed. */
  readonly adaptive: AdaptiveMode | null;
  /** Lowest adaptive limit (default 1). */
  readonly min: number;
  /** Highest adaptive limit (default 1000); also what memory bounds are sized for. */
  readonly max: number;
}

/** {@link LoopConcurrency} as a policy accepts it. */
export interface LoopConcurrencyInput extends ConcurrencyInput {
  /** `'aimd'` or `'gradient'` to adapt the limit, starting at `value`; `null` for a fixed one. */
  readonly adaptive?: AdaptiveMode | (string & Record<never, never>) | null;
  readonly min?: IntegerInput;
  readonly max?: IntegerInput;
}

const AdaptiveModeCodec = keywordCodec<AdaptiveMode>(['aimd', 'gradient']);

/**
 * Codec of a consumer's `loop.concurrency`: `value` (default 1), `adaptive` (default `null`),
 * `min` (default 1) and `max` (default 1000; with `adaptive`, `min ≤ value ≤ max`).
 */
export const LoopConcurrencyCodec: t.Type<LoopConcurrency> = t.refinement(
  strictStruct('LoopConcurrency', {
    value: withDefault(PositiveInteger, 1),
    adaptive: withDefault(orNull(AdaptiveModeCodec), null),
    min: withDefault(PositiveInteger, 1),
    max: withDefault(PositiveInteger, 1000),
  }),
  (c) => c.adaptive === null || (c.min <= c.value && c.value <= c.max),
  'LoopConcurrency (with adaptive: min ≤ value ≤ max)',
);
