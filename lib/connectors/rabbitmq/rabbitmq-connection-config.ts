import type * as t from 'io-ts';
import { backoffCodec, type Backoff, type BackoffInput } from '../../policy/backoff.js';
import { decodePolicy, strictStruct, withDefault } from '../../policy/codecs/structures.js';
import {
  NonNegativeDuration,
  PositiveDuration,
  type DurationInput,
  NonEmptyText,
} from '../../policy/codecs/values.js';
import { AmqpUrl } from './amqp-url.js';

/** How a {@link RabbitmqService} reaches the broker, fully decoded with defaults filled in. */
export interface RabbitmqConnectionConfig {
  /** Broker address, `amqp://user:pass@host:port/vhost` (`amqps://` for TLS). */
  readonly url: string;
  /** Shown by `rabbitmqctl list_connections name` and the management UI. */
  readonly connectionName: string;
  /** Heartbeat interval in milliseconds (sent to the broker in whole seconds); 0 disables it. */
  readonly heartbeat: number;
  /** Longest wait for one connection attempt (TCP, TLS and AMQP handshake), in milliseconds. */
  readonly connectTimeout: number;
  /** Capped exponential backoff between reconnection attempts after a drop or failed attempt. */
  readonly reconnect: Backoff;
}

/** A {@link RabbitmqConnectionConfig} as {@link rabbitmqConnectionConfig} accepts it. */
export interface RabbitmqConnectionConfigInput {
  /** Default `amqp://guest:guest@localhost:5672/`. */
  readonly url?: string;
  /** Default `ergon-rx`. */
  readonly connectionName?: string;
  /** Default `30s`. */
  readonly heartbeat?: DurationInput;
  /** Default `10s`. */
  readonly connectTimeout?: DurationInput;
  /** Default: 100 ms doubling up to 10 s, `equal` jitter. */
  readonly reconnect?: BackoffInput | null;
}

const defaultReconnect: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 10_000,
  jitter: 'equal',
});

/** The codec of the connection keys, shared by the service and the connector configs. */
export const RabbitmqConnectionConfigCodec: t.Type<
  RabbitmqConnectionConfig,
  RabbitmqConnectionConfig
> = strictStruct('RabbitmqConnection', {
  url: withDefault(AmqpUrl, 'amqp://guest:guest@localhost:5672/'),
  connectionName: withDefault(NonEmptyText, 'ergon-rx'),
  heartbeat: withDefault(NonNegativeDuration, 30_000),
  connectTimeout: withDefault(PositiveDuration, 10_000),
  reconnect: backoffCodec(defaultReconnect),
});

/**
 * Decodes the connection settings of a {@link RabbitmqService}, filling defaults.
 *
 * @example
 * ```ts
 * rabbitmqConnectionConfig({ url: 'amqp://app:secret@rabbit:5672/shop', heartbeat: '15s' });
 * // { url: 'amqp://app:secret@rabbit:5672/shop', connectionName: 'ergon-rx', heartbeat: 15000,
 * //   connectTimeout: 10000, reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 10000, jitter: 'equal' } }
 * ```
 * @throws PolicyError naming every wrong path, e.g. `url: expected amqp:// or amqps:// URL, got "http://x"`.
 */
export function rabbitmqConnectionConfig(
  input?: RabbitmqConnectionConfigInput | null,
): RabbitmqConnectionConfig {
  return decodePolicy(RabbitmqConnectionConfigCodec, 'RabbitMQ connection config', input);
}
