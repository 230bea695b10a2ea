import type * as t from 'io-ts';
import type { StagePolicy } from './consumer-policy.js';
import { RetryPolicyCodec, type RetryPolicyInput } from './retry-policy.js';
import { strictStruct } from './strict-struct.js';

/** A {@link StagePolicy} as a policy accepts it; `null` means all defaults. */
export interface StagePolicyInput {
  readonly retry?: RetryPolicyInput | null;
}

/** Codec of a stage's policy: its `retry` policy, defaults as in `retryPolicy()`. */
export const StagePolicyCodec: t.Type<StagePolicy, StagePolicy, unknown> = strictStruct(
  'StagePolicy',
  { retry: RetryPolicyCodec },
);
