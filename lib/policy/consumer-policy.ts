import type * as t from 'io-ts';
import {
  BooleanFlag,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
  isNullMarker,
  matchKeyword,
  NonNegativeDuration,
  NonNegativeInteger,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from './codecs/values.js';
import { type Backoff, backoffCodec, type BackoffInput } from './backoff.js';
import {
  ConcurrencyCodec,
  type ConcurrencyInput,
  type LoopConcurrency,
  LoopConcurrencyCodec,
  type LoopConcurrencyInput,
  CircuitBreakerCodec,
  type CircuitBreakerPolicy,
  type CircuitBreakerPolicyInput,
  PolicyNameCodec,
  type LoopRateLimit,
  LoopRateLimitCodec,
  type LoopRateLimitInput,
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
import {
  decodePolicy,
  orNull,
  isPlainObject,
  strictStruct,
  withDefault,
} from './codecs/structures.js';
import {
  type ProcessRetryPolicy,
  ProcessRetryPolicyCodec,
  type ProcessRetryPolicyInput,
  type RetryPolicy,
  RetryPolicyCodec,
  type RetryPolicyInput,
} from './retry-policy.js';

/** `batch`: fetch, process the whole batch, then fetch again. `continuous`: refill free slots. */
export type LoopMode = 'batch' | 'continuous';

/** Everything that shapes a consumer loop, fully decoded with defaults filled in. */
export interface ConsumerPolicy {
  /** A name for logs and lookup, or `null`. */
  readonly name: string | null;
  readonly loop: {
    readonly mode: LoopMode;
    /**
     * `value`: most transactions in flight at once; with `adaptive`, where the limit starts,
     * adapting within `min`–`max` (see docs/flow-control.md).
     */
    readonly concurrency: LoopConcurrency;
    /** `value`: most transactions of one key in flight at once (tasks with a `key`). */
    readonly keyConcurrency: { readonly value: number };
    /**
     * Most fetched transactions waiting for their key (tasks with a `key`), on top of the
     * `concurrency.value` in flight; `null` means 4 × `concurrency.value`. Fetching pauses
     * while it is full.
     */
    readonly keyBacklog: number | null;
    /** Most transactions of one key started per interval (tasks with a `key`), or `null`. */
    readonly keyRateLimit: RateLimit | null;
    /**
     * Most transactions started per interval (`null`: no limit); the loop fetches no more
     * than it may start within one interval.
     */
    readonly rateLimit: LoopRateLimit | null;
    /**
     * Stops starting transactions while the process stage keeps failing for system reasons or
     * time (`null`: never); see docs/flow-control.md.
     */
    readonly circuitBreaker: CircuitBreakerPolicy | null;
    /** Most transactions the loop fetches in all, or `null` for no limit. */
    readonly limit: number | null;
    /**
     * Deadline of the whole loop (streaming too) in milliseconds, or `null` for none. On expiry
     * in-flight work is cancelled and released, then the loop errors with `LoopTimeoutError`.
     */
    readonly timeout: number | null;
    /** Keep polling with empty-queue backoff instead of completing on the first empty fetch. */
    readonly streaming: boolean;
    /** On a graceful stop, how long in-flight work may drain before it is cancelled and released. */
    readonly shutdownGrace: number;
  };
  readonly fetch: {
    readonly batch: {
      /** Transactions per fetch in batch mode; `null` means `loop.concurrency.value`. */
      readonly size: number | null;
      /** Pause in milliseconds after each non-empty batch (batch mode). */
      readonly interval: number;
    };
    /** Backoff between consecutive empty fetches of a streaming loop. */
    readonly empty: Backoff;
    readonly retry: RetryPolicy;
    /** Passed to every `connector.fetch` call as `request.extra`. */
    readonly extra: Readonly<Record<string, unknown>>;
  };
  /** `timeout`: budget for a transaction's process and success stages; `noticeAfter`. */
  readonly transactionRuntime: TransactionRuntime;
  readonly process: ProcessStagePolicy;
  readonly success: StagePolicy;
  readonly exception: StagePolicy;
}

/** The process stage of a consumer: its retry policy and how `processBatch` batches form. */
export interface ProcessStagePolicy extends StagePolicy {
  /** The stage's retry policy, with `durableAfter` (only the process stage has it). */
  readonly retry: ProcessRetryPolicy;
  readonly batch: {
    /** Most transactions per `processBatch` call; `null` means `loop.concurrency.value`. */
    readonly size: number | null;
    /** How long a partial batch waits for more transactions, in milliseconds. */
    readonly maxWait: number;
  };
}

/** A {@link ProcessStagePolicy} as a policy accepts it; `null` means all defaults. */
export interface ProcessStagePolicyInput extends StagePolicyInput {
  readonly retry?: ProcessRetryPolicyInput | null;
  readonly batch?: {
    readonly size?: IntegerInput | null;
    readonly maxWait?: DurationInput;
  } | null;
}

/**
 * A loop mode as a policy accepts it: `'batch' | 'continuous'` (trimmed, case-insensitive);
 * `null`, `""` and `"none"` mean `'batch'`.
 */
export type LoopModeInput = LoopMode | (string & Record<never, never>) | null;

/**
 * A {@link ConsumerPolicy} as `consumerPolicy()` accepts it: every key optional, durations
 * and numbers also as strings (`"2s"`, `"3"`), booleans also as words (`"yes"`), nullable
 * values also as `""`/`"none"`/`"null"`, and `null` for an object meaning all its defaults.
 */
export interface ConsumerPolicyInput {
  readonly name?: string | null;
  readonly loop?: {
    readonly mode?: LoopModeInput;
    readonly concurrency?: LoopConcurrencyInput | null;
    readonly keyConcurrency?: ConcurrencyInput | null;
    readonly keyBacklog?: IntegerInput | null;
    readonly keyRateLimit?: RateLimitInput | null;
    readonly rateLimit?: LoopRateLimitInput | null;
    readonly circuitBreaker?: CircuitBreakerPolicyInput | null;
    readonly limit?: IntegerInput | null;
    readonly timeout?: DurationInput | null;
    readonly streaming?: BooleanInput;
    readonly shutdownGrace?: DurationInput;
  } | null;
  readonly fetch?: {
    readonly batch?: {
      readonly size?: IntegerInput | null;
      readonly interval?: DurationInput;
    } | null;
    readonly empty?: BackoffInput | null;
    readonly retry?: RetryPolicyInput | null;
    readonly extra?: Readonly<Record<string, unknown>> | null;
  } | null;
  readonly transactionRuntime?: TransactionRuntimeInput | null;
  readonly process?: ProcessStagePolicyInput | null;
  readonly success?: StagePolicyInput | null;
  readonly exception?: StagePolicyInput | null;
}

const loopModes: readonly LoopMode[] = ['batch', 'continuous'];

const isLoopMode = (u: unknown): u is LoopMode => loopModes.some((mode) => mode === u);

const LoopModeCodec = scalarCodec<LoopMode>('"batch" | "continuous"', isLoopMode, (u) =>
  u === undefined || isNullMarker(u) ? 'batch' : matchKeyword(u, loopModes),
);

const noExtra: Readonly<Record<string, unknown>> = Object.freeze({});

const ExtraCodec = scalarCodec('plain object', isPlainObject, (u) =>
  u === undefined || u === null ? noExtra : isPlainObject(u) ? u : undefined,
);

/** Empty-fetch backoff defaults: 100 ms doubling up to 5 s, so streaming never busy-polls. */
const defaultEmptyBackoff: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'none',
});

/** The io-ts codec behind {@link consumerPolicy}. */
export const ConsumerPolicyCodec: t.Type<ConsumerPolicy, ConsumerPolicy> = strictStruct(
  'ConsumerPolicy',
  {
    name: PolicyNameCodec,
    loop: strictStruct('ConsumerLoop', {
      mode: LoopModeCodec,
      concurrency: LoopConcurrencyCodec,
      keyConcurrency: ConcurrencyCodec,
      keyBacklog: withDefault(orNull(NonNegativeInteger), null),
      keyRateLimit: withDefault(orNull(RateLimitCodec), null),
      rateLimit: withDefault(orNull(LoopRateLimitCodec), null),
      circuitBreaker: withDefault(orNull(CircuitBreakerCodec), null),
      limit: withDefault(orNull(NonNegativeInteger), null),
      timeout: withDefault(orNull(PositiveDuration), null),
      streaming: withDefault(BooleanFlag, false),
      shutdownGrace: withDefault(NonNegativeDuration, 30_000),
    }),
    fetch: strictStruct('Fetch', {
      batch: strictStruct('FetchBatch', {
        size: withDefault(orNull(PositiveInteger), null),
        interval: withDefault(NonNegativeDuration, 0),
      }),
      empty: backoffCodec(defaultEmptyBackoff),
      retry: RetryPolicyCodec,
      extra: ExtraCodec,
    }),
    transactionRuntime: TransactionRuntimeCodec,
    process: strictStruct('ProcessStage', {
      retry: ProcessRetryPolicyCodec,
      batch: strictStruct('ProcessBatch', {
        size: withDefault(orNull(PositiveInteger), null),
        maxWait: withDefault(NonNegativeDuration, 20),
      }),
    }),
    success: StagePolicyCodec,
    exception: StagePolicyCodec,
  },
);

/**
 * Decodes a consumer policy, filling defaults (see `docs/policies.md` for the table) and
 * accepting env-style strings. Decoding a decoded policy returns an equal policy.
 *
 * @example
 * ```ts
 * const policy = consumerPolicy({
 *   loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: 'yes' },
 *   process: { retry: { maxAttempts: 3, backoff: '200ms', timeout: '5s' } },
 * });
 * policy.fetch.empty; // { backoff: 100, backoffMultiplier: 2, backoffCap: 5000, jitter: 'none' }
 * ```
 * @throws PolicyError listing every wrong or unknown key with its path, e.g.
 * `loop.concurrency.value: expected positive integer, got 0`.
 */
export function consumerPolicy(input?: ConsumerPolicyInput): ConsumerPolicy {
  return decodePolicy(ConsumerPolicyCodec, 'consumer policy', input);
}
