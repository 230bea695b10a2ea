import type * as t from 'io-ts';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import {
  BooleanFlag,
  type BooleanInput,
  NonNegativeDuration,
  PositiveDuration,
  type DurationInput,
  PositiveInteger,
  type IntegerInput,
  NonEmptyText,
} from '../../policy/codecs/values.js';
import {
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  RedisServiceConfigCodec,
  type RedisServiceConfig,
  type RedisServiceConfigInput,
} from './redis-service-config.js';

/** Everything a {@link RedisConnector} needs, fully decoded with defaults filled in. */
export interface RedisConnectorConfig<P = unknown> {
  /** How the connector's own {@link RedisService} connects (unused with a shared service). */
  readonly connection: RedisServiceConfig;
  /** The stream to consume from and dispatch to. */
  readonly stream: string;
  /** The consumer group; created (with the stream) on first fetch when missing. */
  readonly group: string;
  /** This connector's consumer name in the group, or `null` for `<host>-<pid>-<random>`. */
  readonly consumer: string | null;
  /** Where dead letters go, or `null` for `<stream>:dead`. */
  readonly deadLetterStream: string | null;
  /** Deliveries after which an entry is dead-lettered instead of delivered again. */
  readonly maxDeliveries: number;
  /** Longest wait of a fetch for the first new entry, in ms (`0`: never block). */
  readonly fetchWait: number;
  /** Idle time after which an entry of a dead consumer is claimed by a live one, in ms. */
  readonly claimIdle: number;
  /** `XDEL` entries once acked or dead-lettered (only when this group is the stream's only one). */
  readonly deleteOnAck: boolean;
  /** Where a newly created group starts: `0` (the whole stream), `$` (new entries only) or an entry id. */
  readonly groupStart: string;
  /** Turns payloads into entry bodies and back. */
  readonly codec: PayloadCodec<P>;
}

/** A {@link RedisConnectorConfig} as code, JSON or environment variables may give it. */
export interface RedisConnectorConfigInput<P = unknown> {
  /** Default: all {@link RedisServiceConfigInput} defaults. Not allowed with a shared service. */
  readonly connection?: RedisServiceConfigInput | null;
  /** Required. */
  readonly stream: string;
  /** Default `ergon`. */
  readonly group?: string;
  /** Default `null` (`<host>-<pid>-<random>`). */
  readonly consumer?: string | null;
  /** Default `null` (`<stream>:dead`). */
  readonly deadLetterStream?: string | null;
  /** Default 5. */
  readonly maxDeliveries?: IntegerInput;
  /** Default 1 s. */
  readonly fetchWait?: DurationInput;
  /** Default 30 s. */
  readonly claimIdle?: DurationInput;
  /** Default `false`. */
  readonly deleteOnAck?: BooleanInput;
  /** Default `0`. */
  readonly groupStart?: string;
  /** Default `jsonCodec`. */
  readonly codec?: PayloadCodec<P>;
}

const streamIdText = /^(\$|\d+(-\d+)?)$/;
const isGroupStart = (u: unknown): u is string => typeof u === 'string' && streamIdText.test(u);

/** `$`, or a stream entry id such as `0` or `1700000000000-0`. */
const GroupStart = guardCodec('"$" or a stream entry id such as "0"', isGroupStart);

/**
 * The io-ts codec behind {@link redisConnectorConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = RedisConnectorConfigCodec.decode({ stream: 'orders' }); // Either<Errors, RedisConnectorConfig>
 * ```
 */
export const RedisConnectorConfigCodec: t.Type<RedisConnectorConfig, RedisConnectorConfig> =
  strictStruct('RedisConnectorConfig', {
    connection: RedisServiceConfigCodec,
    stream: NonEmptyText,
    group: withDefault(NonEmptyText, 'ergon'),
    consumer: withDefault(orNull(NonEmptyText), null),
    deadLetterStream: withDefault(orNull(NonEmptyText), null),
    maxDeliveries: withDefault(PositiveInteger, 5),
    fetchWait: withDefault(NonNegativeDuration, 1000),
    claimIdle: withDefault(PositiveDuration, 30_000),
    deleteOnAck: withDefault(BooleanFlag, false),
    groupStart: withDefault(GroupStart, '0'),
    codec: PayloadCodecSetting,
  });

/**
 * Decodes a Redis Streams connector config, filling defaults.
 *
 * @example
 * ```ts
 * const config = redisConnectorConfig({ stream: 'orders', claimIdle: '1m' });
 * config.group; // 'ergon'
 * config.maxDeliveries; // 5
 * ```
 * @throws PolicyError naming every wrong path, e.g. `stream: expected non-empty string, got
 * undefined` or `connection.url: expected redis:// or rediss:// URL with a host, got "http://x"`.
 */
export function redisConnectorConfig<P = unknown>(
  input: RedisConnectorConfigInput<P>,
): RedisConnectorConfig<P> {
  return decodePolicy(
    RedisConnectorConfigCodec,
    'redis connector config',
    input,
  ) as RedisConnectorConfig<P>;
}
