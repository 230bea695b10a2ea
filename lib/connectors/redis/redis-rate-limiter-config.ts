import type * as t from 'io-ts';
import {
  type DurationInput,
  NonEmptyText,
  NonNegativeDuration,
  PositiveDuration,
} from '../../policy/codecs/values.js';
import { decodePolicy, orNull, strictStruct, withDefault } from '../../policy/codecs/structures.js';
import {
  RedisServiceConfigCodec,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';

/** Everything a `RedisRateLimiter` needs, fully decoded with defaults filled in. */
export interface RedisRateLimiterConfig {
  /** How the limiter's own `RedisService` connects (unused with a shared service). */
  readonly connection: RedisServiceConfig;
  /** The key holding the limit's state (one number, expiring when idle); the same for every worker. */
  readonly key: string;
  /**
   * How far ahead of their due time permits are granted, in ms, so that one take covers
   * several starts; `null`: a tenth of the interval.
   */
  readonly ahead: number | null;
  /** Longest wait for an answer, in ms; a take that waits longer fails. */
  readonly timeout: number;
}

/** A {@link RedisRateLimiterConfig} as code, JSON or environment variables may give it. */
export interface RedisRateLimiterConfigInput {
  /** Default: all `RedisServiceConfigInput` defaults. Not allowed with a shared service. */
  readonly connection?: RedisServiceConfigInput | null;
  /** Required. */
  readonly key: string;
  /** Default `null` (a tenth of the interval). */
  readonly ahead?: DurationInput | null;
  /** Default 1 s. */
  readonly timeout?: DurationInput;
}

/** The io-ts codec behind {@link redisRateLimiterConfig}. */
export const RedisRateLimiterConfigCodec: t.Type<RedisRateLimiterConfig, RedisRateLimiterConfig> =
  strictStruct('RedisRateLimiterConfig', {
    connection: RedisServiceConfigCodec,
    key: NonEmptyText,
    ahead: withDefault(orNull(NonNegativeDuration), null),
    timeout: withDefault(PositiveDuration, 1000),
  });

/**
 * Decodes a Redis rate limiter config, filling defaults.
 *
 * @example
 * ```ts
 * redisRateLimiterConfig({ key: 'limits:partner-api' }).timeout; // 1000
 * ```
 * @throws PolicyError naming every wrong path, e.g. `key: expected non-empty string, got undefined`.
 */
export function redisRateLimiterConfig(input: RedisRateLimiterConfigInput): RedisRateLimiterConfig {
  return decodePolicy(RedisRateLimiterConfigCodec, 'redis rate limiter config', input);
}
