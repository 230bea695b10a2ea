export type { Backoff, BackoffInput, Jitter, JitterInput } from './backoff.js';
export { BackoffCodec, backoffPolicy } from './backoff.js';
export { backoffDelay } from './backoff-delay.js';
export type { BooleanInput } from './boolean-flag.js';
export type { Concurrency, ConcurrencyInput } from './concurrency.js';
export type {
  ConsumerPolicy,
  ConsumerPolicyInput,
  LoopMode,
  LoopModeInput,
  StagePolicy,
} from './consumer-policy.js';
export { ConsumerPolicyCodec, consumerPolicy } from './consumer-policy.js';
export type { DurationInput } from './duration.js';
export { parseDuration } from './duration.js';
export type { IntegerInput } from './integer.js';
export { MAX_TIMER_DELAY } from './max-timer-delay.js';
export type { ProducerPolicy, ProducerPolicyInput } from './producer-policy.js';
export { ProducerPolicyCodec, producerPolicy } from './producer-policy.js';
export type { RetryPolicy, RetryPolicyInput } from './retry-policy.js';
export { RetryPolicyCodec, retryPolicy } from './retry-policy.js';
export type { StagePolicyInput } from './stage-policy-codec.js';
export type { TransactionRuntime, TransactionRuntimeInput } from './transaction-runtime.js';
export type { DispatchOptions, DispatchOptionsInput } from './dispatch-options.js';
export { DispatchOptionsCodec, dispatchOptions } from './dispatch-options.js';
