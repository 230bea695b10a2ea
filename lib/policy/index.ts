export type { Backoff, BackoffInput, Jitter, JitterInput } from './backoff.js';
export { BackoffCodec, backoffDelay, backoffPolicy } from './backoff.js';
export type { BooleanInput, DurationInput, IntegerInput } from './codecs/values.js';
export type {
  AdaptiveMode,
  LoopConcurrency,
  LoopConcurrencyInput,
  CircuitBreakerPolicy,
  CircuitBreakerPolicyInput,
  Concurrency,
  ConcurrencyInput,
  LimiterErrorMode,
  LoopRateLimit,
  LoopRateLimitInput,
  RateLimit,
  RateLimitInput,
  StagePolicy,
  StagePolicyInput,
  TransactionRuntime,
  TransactionRuntimeInput,
} from './policy-sections.js';
export type {
  ConsumerPolicy,
  ConsumerPolicyInput,
  LoopMode,
  LoopModeInput,
  ProcessStagePolicy,
  ProcessStagePolicyInput,
} from './consumer-policy.js';
export { ConsumerPolicyCodec, consumerPolicy } from './consumer-policy.js';
export { LoopRateLimitCodec, RateLimitCodec, rateLimitPolicy } from './policy-sections.js';
export type { RateLimiter, RateLimiterGrant } from './rate-limiter.js';
export { isRateLimiter, RateLimiterUnavailableError } from './rate-limiter.js';
export { MAX_TIMER_DELAY, parseDuration } from './codecs/values.js';
export type { ProducerPolicy, ProducerPolicyInput } from './producer-policy.js';
export { ProducerPolicyCodec, producerPolicy } from './producer-policy.js';
export type {
  ProcessRetryPolicy,
  ProcessRetryPolicyInput,
  RetryPolicy,
  RetryPolicyInput,
} from './retry-policy.js';
export { RetryPolicyCodec, retryPolicy } from './retry-policy.js';
export type { DispatchOptions, DispatchOptionsInput } from './dispatch-options.js';
export { DispatchOptionsCodec, dispatchOptions } from './dispatch-options.js';
