import {
  backoffPolicy,
  consumerPolicy,
  dispatchOptions,
  producerPolicy,
  retryPolicy,
  type BackoffInput,
  type ConsumerPolicyInput,
  type DispatchOptionsInput,
  type ProducerPolicyInput,
  type RetryPolicyInput,
} from '../../../lib/index.js';
import type { DecoderUnderTest } from './decoder-under-test.js';
import type { FieldKind } from './field-kinds.js';

const backoffFields = {
  backoff: 'duration',
  backoffMultiplier: 'multiplier',
  backoffCap: 'durationOrNull',
  jitter: 'jitter',
} as const satisfies Record<string, FieldKind>;

const retryFields = {
  maxAttempts: 'positiveInteger',
  timeout: 'positiveDurationOrNull',
  ...backoffFields,
} as const satisfies Record<string, FieldKind>;

function under(
  prefix: string,
  fields: Readonly<Record<string, FieldKind>>,
): Record<string, FieldKind> {
  return Object.fromEntries(
    Object.entries(fields).map(([path, kind]) => [`${prefix}.${path}`, kind]),
  );
}

/**
 * The policy decoders of `lib/policy`, each with the fields docs/policies.md lists for it.
 * Inputs are fuzzed as `unknown`: the decoders are the boundary where untyped config enters.
 */
export const policyDecoders: readonly DecoderUnderTest[] = [
  {
    name: 'retryPolicy',
    decode: (input) => retryPolicy(input as RetryPolicyInput),
    fields: retryFields,
  },
  {
    name: 'backoffPolicy',
    decode: (input) => backoffPolicy(input as BackoffInput),
    fields: backoffFields,
  },
  {
    name: 'consumerPolicy',
    decode: (input) => consumerPolicy(input as ConsumerPolicyInput),
    openPaths: ['fetch.extra'],
    fields: {
      name: 'nameOrNull',
      'loop.mode': 'loopMode',
      'loop.concurrency.value': 'positiveInteger',
      'loop.limit': 'nonNegativeIntegerOrNull',
      'loop.timeout': 'positiveDurationOrNull',
      'loop.streaming': 'boolean',
      'loop.shutdownGrace': 'duration',
      'fetch.batch.size': 'positiveIntegerOrNull',
      'fetch.batch.interval': 'duration',
      ...under('fetch.empty', backoffFields),
      ...under('fetch.retry', retryFields),
      'transactionRuntime.timeout': 'positiveDurationOrNull',
      ...under('process.retry', retryFields),
      ...under('success.retry', retryFields),
      ...under('exception.retry', retryFields),
    },
  },
  {
    name: 'producerPolicy',
    decode: (input) => producerPolicy(input as ProducerPolicyInput),
    fields: {
      name: 'nameOrNull',
      'loop.concurrency.value': 'positiveInteger',
      'loop.batch.size': 'positiveInteger',
      'loop.batch.maxWait': 'duration',
      'loop.limit': 'nonNegativeIntegerOrNull',
      'loop.timeout': 'positiveDurationOrNull',
      'transactionRuntime.timeout': 'positiveDurationOrNull',
      ...under('prepare.retry', retryFields),
      ...under('success.retry', retryFields),
      ...under('exception.retry', retryFields),
      ...under('dispatch.retry', retryFields),
      'dispatch.concurrency.value': 'positiveInteger',
    },
  },
  {
    name: 'dispatchOptions',
    decode: (input) => dispatchOptions(input as DispatchOptionsInput),
    fields: {
      batch: 'positiveInteger',
      maxWait: 'duration',
      ...under('retry', retryFields),
      concurrency: 'positiveInteger',
    },
  },
];
