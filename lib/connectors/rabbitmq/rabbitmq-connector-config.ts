import * as t from 'io-ts';
import { isRight } from 'fp-ts/lib/Either.js';
import {
  BooleanFlag,
  type BooleanInput,
  NonNegativeDuration,
  PositiveDuration,
  type DurationInput,
  PositiveInteger,
  type IntegerInput,
  keywordCodec,
  parseNumber,
  scalarCodec,
  NonEmptyText,
} from '../../policy/codecs/values.js';
import {
  decodePolicy,
  guardCodec,
  orNull,
  isPlainObject,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  RabbitmqConnectionConfigCodec,
  type RabbitmqConnectionConfig,
  type RabbitmqConnectionConfigInput,
} from './rabbitmq-connection-config.js';

/** Broker-side optional arguments of a queue, exchange or binding (`x-…` keys). */
export type AmqpArguments = Readonly<Record<string, unknown>>;

/** `quorum` (replicated, counts deliveries natively) or `classic`. */
export type RabbitmqQueueType = 'quorum' | 'classic';

/** An exchange declared from config. */
export interface RabbitmqExchangeConfig {
  readonly name: string;
  /** `direct`, `topic`, `fanout`, `headers`, or a plugin's type. */
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly arguments: AmqpArguments;
}

/** A binding of the connector's queue to an exchange, declared from config. */
export interface RabbitmqBindingConfig {
  readonly exchange: string;
  readonly routingKey: string;
  readonly arguments: AmqpArguments;
}

/** Where dead-lettered messages go: an exchange, and a queue bound to it with `routingKey`. */
export interface RabbitmqDeadLetterConfig {
  readonly exchange: string;
  readonly queue: string;
  readonly routingKey: string;
}

/** Where `dispatch` publishes. */
export interface RabbitmqPublishConfig {
  /** `''` is the default exchange, which routes by queue name. */
  readonly exchange: string;
  readonly routingKey: string;
  /** Delivery mode 2: the broker writes the message to disk. */
  readonly persistent: boolean;
}

/** Everything a {@link RabbitmqConnector} needs, fully decoded with defaults filled in. */
export interface RabbitmqConnectorConfig {
  readonly connection: RabbitmqConnectionConfig;
  /** The queue `fetch` consumes and `dispatch` targets by default; `null` for publish-only. */
  readonly queue: string | null;
  readonly queueType: RabbitmqQueueType;
  /** Extra queue arguments; they win over the ones the connector derives. */
  readonly queueArguments: AmqpArguments;
  /**
   * Declare the queue with `x-max-priority` (a classic queue only), so `metadata.priority`
   * (0–9) orders delivery, higher first; `null` (default): priorities are ignored.
   */
  readonly maxPriority: number | null;
  /** Declare the topology (`true`) or only check that the queue exists (`false`). */
  readonly declare: boolean;
  /**
   * Declare the queue with `x-single-active-consumer`: the broker delivers to one consumer at
   * a time (the others wait as standbys), so the queue's order is kept even when several
   * processes consume it.
   */
  readonly singleActiveConsumer: boolean;
  readonly exchanges: readonly RabbitmqExchangeConfig[];
  readonly bindings: readonly RabbitmqBindingConfig[];
  /** The dead-letter exchange and queue, or `false` for none. */
  readonly deadLetter: RabbitmqDeadLetterConfig | false;
  /** Broker prefetch (basic.qos), or `null` for the size of the first fetch. */
  readonly prefetch: number | null;
  /** How long a fetch waits for its first message, in milliseconds. */
  readonly fetchWait: number;
  /** Deliveries after which a message is dead-lettered instead of redelivered. */
  readonly maxDeliveries: number;
  /**
   * The broker's `consumer_timeout` for the queue, in milliseconds: a delivery unsettled that
   * long makes the broker close the consume channel. The connector releases a delivery still
   * unsettled at 80 % of it, and warns when `transactionRuntime.timeout` does not end
   * transactions before that.
   */
  readonly consumerTimeout: number;
  readonly publish: RabbitmqPublishConfig;
}

/** A {@link RabbitmqConnectorConfig} as {@link rabbitmqConnectorConfig} accepts it. */
export interface RabbitmqConnectorConfigInput {
  readonly connection?: RabbitmqConnectionConfigInput | null;
  /** Required: a queue name, or `null` for a connector that only publishes. */
  readonly queue: string | null;
  /** Default `quorum`. */
  readonly queueType?: RabbitmqQueueType | (string & Record<never, never>);
  /** Default `{}`. */
  readonly queueArguments?: AmqpArguments | null;
  /** 1–255 (9 covers every `metadata.priority`); needs `queueType: 'classic'`. Default `null`. */
  readonly maxPriority?: IntegerInput | null;
  /** Default `true`. */
  readonly declare?: BooleanInput;
  /** Default `false`. */
  readonly singleActiveConsumer?: BooleanInput;
  readonly exchanges?: readonly {
    readonly name: string;
    readonly type?: string;
    readonly durable?: BooleanInput;
    readonly autoDelete?: BooleanInput;
    readonly arguments?: AmqpArguments | null;
  }[];
  readonly bindings?: readonly {
    readonly exchange: string;
    readonly routingKey?: string;
    readonly arguments?: AmqpArguments | null;
  }[];
  /**
   * Default: exchange `<queue>.dlx`, queue `<queue>.dlq`, routing key `<queue>`; `false` for
   * no dead-letter topology.
   */
  readonly deadLetter?:
    | {
        readonly exchange?: string | null;
        readonly queue?: string | null;
        readonly routingKey?: string | null;
      }
    | null
    | false;
  /** Default `null` (the size of the first fetch). */
  readonly prefetch?: IntegerInput | null;
  /** Default `1s`. */
  readonly fetchWait?: DurationInput;
  /** Default 5. */
  readonly maxDeliveries?: IntegerInput;
  /**
   * Default: the queue argument `x-consumer-timeout` when `queueArguments` sets it, else 30
   * minutes (RabbitMQ's default `consumer_timeout`). Set it to the broker's value when that was
   * changed in `rabbitmq.conf` or by a policy: AMQP cannot read it.
   */
  readonly consumerTimeout?: DurationInput | null;
  readonly publish?: {
    /** Default `''` (the default exchange). */
    readonly exchange?: string;
    /** Default: the queue name. */
    readonly routingKey?: string | null;
    /** Default `true`. */
    readonly persistent?: BooleanInput;
  } | null;
}

const noArguments: AmqpArguments = Object.freeze({});

const ArgumentsCodec = scalarCodec<AmqpArguments>('plain object', isPlainObject, (u) =>
  u === undefined || u === null ? noArguments : isPlainObject(u) ? u : undefined,
);

const QueueName = guardCodec(
  'queue name (or null for a connector that only publishes)',
  (u): u is string | null => u === null || NonEmptyText.is(u),
);

const QueueType = keywordCodec<RabbitmqQueueType>(['quorum', 'classic']);

const ExchangeCodec = strictStruct('RabbitmqExchange', {
  name: NonEmptyText,
  type: withDefault(NonEmptyText, 'topic'),
  durable: withDefault(BooleanFlag, true),
  autoDelete: withDefault(BooleanFlag, false),
  arguments: ArgumentsCodec,
});

const BindingCodec = strictStruct('RabbitmqBinding', {
  exchange: NonEmptyText,
  routingKey: withDefault(t.string, '#'),
  arguments: ArgumentsCodec,
});

const OptionalName = withDefault(orNull(NonEmptyText), null);

const DeadLetterNames = strictStruct('RabbitmqDeadLetter', {
  exchange: OptionalName,
  queue: OptionalName,
  routingKey: OptionalName,
});

type DeadLetterNamesOf = t.TypeOf<typeof DeadLetterNames>;

/**
 * Dead-letter names, or `false` for none. Hand-written because `t.union([t.literal(false), …])`
 * reports a wrong value as "expected false" first instead of the dead-letter object's issues.
 */
const DeadLetterCodec = new t.Type<DeadLetterNamesOf | false, DeadLetterNamesOf | false, unknown>(
  'dead-letter object or false',
  (u): u is DeadLetterNamesOf | false => u === false || DeadLetterNames.is(u),
  (u, c) => (u === false ? t.success(false) : DeadLetterNames.validate(u, c)),
  t.identity,
);

const PublishCodec = strictStruct('RabbitmqPublish', {
  exchange: withDefault(t.string, ''),
  routingKey: withDefault(
    guardCodec('string or null', (u): u is string | null => u === null || typeof u === 'string'),
    null,
  ),
  persistent: withDefault(BooleanFlag, true),
});

const MaxPriority = scalarCodec(
  'integer from 1 to 255',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 1 && u <= 255,
  (u) => {
    const n = parseNumber(u);
    return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 255 ? n : undefined;
  },
);

const RawConnectorConfig = strictStruct('RabbitmqConnectorConfig', {
  connection: RabbitmqConnectionConfigCodec,
  queue: QueueName,
  queueType: withDefault(QueueType, 'quorum'),
  queueArguments: ArgumentsCodec,
  maxPriority: withDefault(orNull(MaxPriority), null),
  declare: withDefault(BooleanFlag, true),
  singleActiveConsumer: withDefault(BooleanFlag, false),
  exchanges: withDefault(t.readonlyArray(ExchangeCodec, 'array of exchanges'), []),
  bindings: withDefault(t.readonlyArray(BindingCodec, 'array of bindings'), []),
  deadLetter: withDefault(DeadLetterCodec, { exchange: null, queue: null, routingKey: null }),
  prefetch: withDefault(orNull(PositiveInteger), null),
  fetchWait: withDefault(NonNegativeDuration, 1000),
  maxDeliveries: withDefault(PositiveInteger, 5),
  consumerTimeout: withDefault(orNull(PositiveDuration), null),
  publish: PublishCodec,
});

/** RabbitMQ's default `consumer_timeout` (since 3.8.15): 30 minutes. */
const brokerConsumerTimeout = 1_800_000;

type RawConfig = t.TypeOf<typeof RawConnectorConfig>;

function resolveDeadLetter(raw: RawConfig): RabbitmqDeadLetterConfig | false {
  if (raw.deadLetter === false || raw.queue === null) return false;
  return {
    exchange: raw.deadLetter.exchange ?? `${raw.queue}.dlx`,
    queue: raw.deadLetter.queue ?? `${raw.queue}.dlq`,
    routingKey: raw.deadLetter.routingKey ?? raw.queue,
  };
}

function resolve(raw: RawConfig): RabbitmqConnectorConfig {
  const queueTimeout = raw.queueArguments['x-consumer-timeout'];
  return {
    ...raw,
    consumerTimeout:
      raw.consumerTimeout ??
      (typeof queueTimeout === 'number' && queueTimeout > 0 ? queueTimeout : brokerConsumerTimeout),
    deadLetter: resolveDeadLetter(raw),
    publish: { ...raw.publish, routingKey: raw.publish.routingKey ?? raw.queue ?? '' },
  };
}

/**
 * The io-ts codec behind {@link rabbitmqConnectorConfig}: checks every key (unknown keys are
 * errors) and derives the dead-letter names and the publish routing key from the queue.
 */
export const RabbitmqConnectorConfigCodec = new t.Type<
  RabbitmqConnectorConfig,
  RabbitmqConnectorConfig,
  unknown
>(
  'RabbitmqConnectorConfig',
  (u): u is RabbitmqConnectorConfig => RawConnectorConfig.is(u),
  (u, c) => {
    const raw = RawConnectorConfig.validate(u, c);
    return isRight(raw) ? t.success(resolve(raw.right)) : raw;
  },
  t.identity,
);

/**
 * Decodes the config of a {@link RabbitmqConnector}, filling defaults. Decoding a decoded
 * config returns an equal config.
 *
 * @example
 * ```ts
 * const config = rabbitmqConnectorConfig({
 *   connection: { url: 'amqp://guest:guest@127.0.0.1:5672/' },
 *   queue: 'orders',
 *   exchanges: [{ name: 'shop', type: 'topic' }],
 *   bindings: [{ exchange: 'shop', routingKey: 'order.*' }],
 * });
 * config.deadLetter; // { exchange: 'orders.dlx', queue: 'orders.dlq', routingKey: 'orders' }
 * ```
 * @throws PolicyError naming every wrong path, e.g. `prefetch: expected positive integer or
 * null, got 0`, `queue: expected queue name (or null …), got undefined`,
 * `connection.url: expected amqp:// or amqps:// URL, got "http://x"`.
 */
export function rabbitmqConnectorConfig(
  input: RabbitmqConnectorConfigInput | RabbitmqConnectorConfig,
): RabbitmqConnectorConfig {
  return decodePolicy(RabbitmqConnectorConfigCodec, 'RabbitMQ connector config', input);
}
