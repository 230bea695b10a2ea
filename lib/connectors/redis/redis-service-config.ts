import type * as t from 'io-ts';
import { backoffCodec, type Backoff, type BackoffInput } from '../../policy/backoff.js';
import {
  decodePolicy,
  guardCodec,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import { PositiveDuration, type DurationInput } from '../../policy/codecs/values.js';

/** How a {@link RedisService} connects, fully decoded with defaults filled in. */
export interface RedisServiceConfig {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  readonly url: string;
  /** Longest wait for a TCP connection to come up, in milliseconds. */
  readonly connectTimeout: number;
  /** Delay before each reconnect attempt: capped exponential backoff, reset once connected. */
  readonly reconnect: Backoff;
  /** Prefix of the names the connections give themselves (`CLIENT SETNAME`), for `CLIENT LIST`. */
  readonly name: string;
}

/** A {@link RedisServiceConfig} as code, JSON or environment variables may give it. */
export interface RedisServiceConfigInput {
  /** Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Default 10 s. */
  readonly connectTimeout?: DurationInput;
  /** Default 100 ms doubling up to 5 s, no jitter. */
  readonly reconnect?: BackoffInput | null;
  /** Default `ergon-rx`. */
  readonly name?: string;
}

const redisProtocols = new Set(['redis:', 'rediss:']);

function isRedisUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    const url = new URL(u);
    return redisProtocols.has(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A `redis://` or `rediss://` URL with a host. */
const RedisUrl = guardCodec('redis:// or rediss:// URL with a host', isRedisUrl);

const connectionNameText = /^[!-~]+$/;

/** What `CLIENT SETNAME` accepts: printable ASCII without spaces. */
const ConnectionName = guardCodec(
  'connection name (printable ASCII, no spaces)',
  (u): u is string => typeof u === 'string' && connectionNameText.test(u),
);

/** Reconnect defaults: 100 ms doubling up to 5 s. */
const defaultReconnect: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'none',
});

/**
 * The io-ts codec behind {@link redisServiceConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = RedisServiceConfigCodec.decode({ url: 'redis://cache:6379' }); // Either<Errors, RedisServiceConfig>
 * ```
 */
export const RedisServiceConfigCodec: t.Type<RedisServiceConfig, RedisServiceConfig> = strictStruct(
  'RedisServiceConfig',
  {
    url: withDefault(RedisUrl, 'redis://127.0.0.1:6379'),
    connectTimeout: withDefault(PositiveDuration, 10_000),
    reconnect: backoffCodec(defaultReconnect),
    name: withDefault(ConnectionName, 'ergon-rx'),
  },
);

/**
 * Decodes how to connect to Redis, filling defaults.
 *
 * @example
 * ```ts
 * redisServiceConfig({ url: 'redis://cache:6379/2', reconnect: { backoffCap: '10s' } });
 * // { url: 'redis://cache:6379/2', connectTimeout: 10000,
 * //   reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 10000, jitter: 'none' }, name: 'ergon-rx' }
 * ```
 * @throws PolicyError naming every wrong path, e.g. `url: expected redis:// or rediss:// URL with a host`.
 */
export function redisServiceConfig(input?: RedisServiceConfigInput | null): RedisServiceConfig {
  return decodePolicy(RedisServiceConfigCodec, 'redis service config', input);
}
