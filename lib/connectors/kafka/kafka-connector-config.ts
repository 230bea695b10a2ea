import * as t from 'io-ts';
import { PolicyError } from '../../core/errors.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { backoffCodec, type Backoff, type BackoffInput } from '../../policy/backoff.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import {
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  BooleanFlag,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
  keywordCodec,
  NonEmptyText,
  NonNegativeDuration,
  PositiveDuration,
  PositiveInteger,
} from '../../policy/codecs/values.js';

/** Where a group without a committed offset starts reading a partition. */
export type KafkaStartFrom = 'earliest' | 'latest';

/** Everything a {@link KafkaConnector} needs, fully decoded with defaults filled in. */
export interface KafkaConnectorConfig<P = unknown> {
  /** Bootstrap brokers, `host:port` each. */
  readonly brokers: readonly string[];
  /** The client id the brokers see (logs, quotas). */
  readonly clientId: string;
  /** The topic to consume from and dispatch to. */
  readonly topic: string;
  /** The consumer group, or `null` for `ergon-<topic>`. */
  readonly group: string | null;
  /** Where dead letters go, or `null` for `<topic>.dead`. */
  readonly deadLetterTopic: string | null;
  /** Create the topic and the dead-letter topic when missing (with `partitions`, `replicationFactor`). */
  readonly createTopics: boolean;
  /** Partitions of a topic the connector creates. */
  readonly partitions: number;
  /** Replicas of a topic the connector creates, `null` for the brokers' default. */
  readonly replicationFactor: number | null;
  /** Where a group without a committed offset starts. */
  readonly startFrom: KafkaStartFrom;
  /** Longest wait of a fetch for its first record, in ms (`0`: return at once). */
  readonly fetchWait: number;
  /** Most records the client reads ahead of the loop (the stream's high-water mark). */
  readonly prefetch: number;
  /**
   * Most bytes one fetch request returns per partition (Kafka's `max.partition.fetch.bytes`):
   * the client decodes a whole response before it hands out its first record.
   */
  readonly partitionFetchBytes: number;
  /** Least time between two commits, in ms (`0`: as soon as the previous one is done). */
  readonly commitInterval: number;
  /** The group session timeout, in ms: a consumer silent that long is dropped from the group. */
  readonly sessionTimeout: number;
  /** Heartbeat interval, in ms (≤ `sessionTimeout`). */
  readonly heartbeatInterval: number;
  /**
   * How long, in ms, transactions of a revoked partition may still settle (and be committed)
   * before the partition is let go to its new owner; those still unsettled then are delivered
   * again by the new owner (`0`: let go at once).
   */
  readonly drainTimeout: number;
  /** Longest wait for the cluster before a fetch or dispatch attempt fails, in ms. */
  readonly connectTimeout: number;
  /** Capped exponential backoff between attempts to reopen a consumer stream that failed. */
  readonly reconnect: Backoff;
  /** Turns payloads into record values and back. */
  readonly codec: PayloadCodec<P>;
}

/** A {@link KafkaConnectorConfig} as code, JSON or environment variables may give it. */
export interface KafkaConnectorConfigInput<P = unknown> {
  /** Default `['127.0.0.1:9092']`; a comma-separated string is accepted. */
  readonly brokers?: readonly string[] | string;
  /** Default `ergon-rx`. */
  readonly clientId?: string;
  /** Required. */
  readonly topic: string;
  /**
   * Default `null` (`ergon-<topic>`): a group of its own per topic, since a rebalance of a
   * group waits for all of its members, whatever topic they read.
   */
  readonly group?: string | null;
  /** Default `null` (`<topic>.dead`). */
  readonly deadLetterTopic?: string | null;
  /** Default `true`. */
  readonly createTopics?: BooleanInput;
  /** Default 1. */
  readonly partitions?: IntegerInput;
  /** Default `null` (the brokers' `default.replication.factor`). */
  readonly replicationFactor?: IntegerInput | null;
  /** Default `earliest` (any case, surrounding blanks ignored). */
  readonly startFrom?: KafkaStartFrom | (string & Record<never, never>);
  /** Default 500 ms. */
  readonly fetchWait?: DurationInput;
  /** Default 512. */
  readonly prefetch?: IntegerInput;
  /** Default 1 MiB (1048576), Kafka's default. */
  readonly partitionFetchBytes?: IntegerInput;
  /** Default 100 ms. */
  readonly commitInterval?: DurationInput;
  /** Default 30 s. */
  readonly sessionTimeout?: DurationInput;
  /** Default 3 s. */
  readonly heartbeatInterval?: DurationInput;
  /** Default 10 s. */
  readonly drainTimeout?: DurationInput;
  /** Default 10 s. */
  readonly connectTimeout?: DurationInput;
  /** Default: 100 ms doubling up to 10 s, `equal` jitter. */
  readonly reconnect?: BackoffInput | null;
  /** Default `jsonCodec`. */
  readonly codec?: PayloadCodec<P>;
}

const brokerAddress = /^[^\s:,/]+:\d{1,5}$/;
const isBrokerList = (u: unknown): u is readonly string[] =>
  Array.isArray(u) &&
  u.length > 0 &&
  u.every((b) => typeof b === 'string' && brokerAddress.test(b));

/** A non-empty list of `host:port` (an array, or a comma-separated string). */
const BrokerList = new t.Type<readonly string[], readonly string[]>(
  'non-empty list of host:port',
  isBrokerList,
  (u, c) => {
    const list = typeof u === 'string' ? u.split(',').map((b) => b.trim()) : u;
    return isBrokerList(list) ? t.success(list) : t.failure(u, c);
  },
  t.identity,
);

const StartFrom = keywordCodec(['earliest', 'latest'] as const);

/** A topic name Kafka accepts: 1–249 of `[a-zA-Z0-9._-]`. */
const TopicName = guardCodec(
  'Kafka topic name (1–249 of a-z A-Z 0-9 . _ -)',
  (u: unknown): u is string => typeof u === 'string' && /^[a-zA-Z0-9._-]{1,249}$/.test(u),
);

const defaultReconnect: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 10_000,
  jitter: 'equal',
});

/**
 * The io-ts codec behind {@link kafkaConnectorConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = KafkaConnectorConfigCodec.decode({ topic: 'orders' }); // Either<Errors, KafkaConnectorConfig>
 * ```
 */
export const KafkaConnectorConfigCodec: t.Type<KafkaConnectorConfig, KafkaConnectorConfig> =
  strictStruct('KafkaConnectorConfig', {
    brokers: withDefault(BrokerList, ['127.0.0.1:9092']),
    clientId: withDefault(NonEmptyText, 'ergon-rx'),
    topic: TopicName,
    group: withDefault(orNull(NonEmptyText), null),
    deadLetterTopic: withDefault(orNull(TopicName), null),
    createTopics: withDefault(BooleanFlag, true),
    partitions: withDefault(PositiveInteger, 1),
    replicationFactor: withDefault(orNull(PositiveInteger), null),
    startFrom: withDefault(StartFrom, 'earliest'),
    fetchWait: withDefault(NonNegativeDuration, 500),
    prefetch: withDefault(PositiveInteger, 512),
    partitionFetchBytes: withDefault(PositiveInteger, 1_048_576),
    commitInterval: withDefault(NonNegativeDuration, 100),
    sessionTimeout: withDefault(PositiveDuration, 30_000),
    heartbeatInterval: withDefault(PositiveDuration, 3000),
    drainTimeout: withDefault(NonNegativeDuration, 10_000),
    connectTimeout: withDefault(PositiveDuration, 10_000),
    reconnect: backoffCodec(defaultReconnect),
    codec: PayloadCodecSetting,
  });

/**
 * Decodes a Kafka connector config, filling defaults.
 *
 * @example
 * ```ts
 * const config = kafkaConnectorConfig({ topic: 'orders', brokers: 'kafka-1:9092,kafka-2:9092' });
 * config.group; // null: 'ergon-orders'
 * config.deadLetterTopic; // null: 'orders.dead'
 * ```
 * @throws PolicyError naming every wrong path, e.g. `topic: expected Kafka topic name (…), got
 * "a b"` or `heartbeatInterval: must not exceed sessionTimeout`.
 */
export function kafkaConnectorConfig<P = unknown>(
  input: KafkaConnectorConfigInput<P>,
): KafkaConnectorConfig<P> {
  const config = decodePolicy(
    KafkaConnectorConfigCodec,
    'kafka connector config',
    input,
  ) as KafkaConnectorConfig<P>;
  if (config.heartbeatInterval > config.sessionTimeout) {
    throw new PolicyError('kafka connector config', [
      {
        path: 'heartbeatInterval',
        expected: `at most sessionTimeout (${config.sessionTimeout} ms)`,
        actual: `${config.heartbeatInterval} ms`,
      },
    ]);
  }
  return config;
}
