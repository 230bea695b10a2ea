import * as t from 'io-ts';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import {
  BooleanFlag,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  PositiveDuration,
  PositiveInteger,
} from '../../policy/codecs/values.js';
import {
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  AwsConnectionConfigCodec,
  type AwsConnectionConfig,
  type AwsConnectionConfigInput,
} from '../aws/aws-connection-config.js';

/** Everything an {@link SqsConnector} needs, fully decoded with defaults filled in. */
export interface SqsConnectorConfig<P = unknown> {
  /** How the connector's own SQS client connects (unused with a shared client). */
  readonly connection: AwsConnectionConfig;
  /** The queue's name (`orders`, or `orders.fifo` for a FIFO queue) or its URL. */
  readonly queue: string;
  /** The dead-letter queue's name, or `null` for `<queue>-dlq` (`<queue>-dlq.fifo` for FIFO). */
  readonly deadLetterQueue: string | null;
  /** Create the queue and its dead-letter queue (with the redrive policy) when missing. */
  readonly create: boolean;
  /** Receives after which SQS itself moves a message to the dead-letter queue (redrive policy). */
  readonly maxReceiveCount: number;
  /**
   * How long a received message stays invisible to other consumers, in ms (whole seconds, 1 s
   * to 12 h). Extended by this long every third of it while its transaction runs.
   */
  readonly visibilityTimeout: number;
  /** Longest wait of a fetch for the first message (long polling), in ms (whole seconds, ≤ 20 s). */
  readonly fetchWait: number;
  /** Delay of every dispatched message before it becomes visible, in ms (whole seconds, ≤ 15 min; standard queues). */
  readonly delay: number;
  /** Turns payloads into message bodies (UTF-8 text) and back. */
  readonly codec: PayloadCodec<P>;
}

/** An {@link SqsConnectorConfig} as code, JSON or environment variables may give it. */
export interface SqsConnectorConfigInput<P = unknown> {
  /** Default: all {@link AwsConnectionConfigInput} defaults. Not allowed with a shared client. */
  readonly connection?: AwsConnectionConfigInput | null;
  /** Required. */
  readonly queue: string;
  /** Default `null` (`<queue>-dlq`, or `<queue>-dlq.fifo`). */
  readonly deadLetterQueue?: string | null;
  /** Default `true`. */
  readonly create?: BooleanInput;
  /** Default 5. */
  readonly maxReceiveCount?: IntegerInput;
  /** Default 30 s. */
  readonly visibilityTimeout?: DurationInput;
  /** Default 1 s. */
  readonly fetchWait?: DurationInput;
  /** Default 0. */
  readonly delay?: DurationInput;
  /** Default `jsonCodec`. */
  readonly codec?: PayloadCodec<P>;
}

/** A duration in whole seconds between `min` and `max` seconds (SQS counts in seconds). */
function wholeSeconds(
  base: t.Type<number, number>,
  min: number,
  max: number,
): t.Type<number, number> {
  return t.refinement(
    base,
    (ms) => ms % 1000 === 0 && ms >= min * 1000 && ms <= max * 1000,
    `whole seconds from ${min} s to ${max} s (e.g. "${Math.max(min, 1)}s")`,
  ) as t.Type<number, unknown> as t.Type<number, number>;
}

/** Queue names SQS accepts: 1–80 letters, digits, `-` and `_`, `.fifo` at the end of a FIFO queue's. */
const queueNameText = /^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$/;

function isQueueName(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  if (/^https?:\/\//.test(u)) return u.split('/').length >= 5;
  return queueNameText.test(u);
}

const QueueName = guardCodec(
  'SQS queue name (letters, digits, "-", "_", ≤ 80, ".fifo" suffix for FIFO) or queue URL',
  isQueueName,
);

/**
 * The io-ts codec behind {@link sqsConnectorConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = SqsConnectorConfigCodec.decode({ queue: 'orders' }); // Either<Errors, SqsConnectorConfig>
 * ```
 */
export const SqsConnectorConfigCodec: t.Type<SqsConnectorConfig, SqsConnectorConfig> = strictStruct(
  'SqsConnectorConfig',
  {
    connection: AwsConnectionConfigCodec,
    queue: QueueName,
    deadLetterQueue: withDefault(orNull(QueueName), null),
    create: withDefault(BooleanFlag, true),
    maxReceiveCount: withDefault(PositiveInteger, 5),
    visibilityTimeout: withDefault(wholeSeconds(PositiveDuration, 1, 43_200), 30_000),
    fetchWait: withDefault(wholeSeconds(NonNegativeDuration, 0, 20), 1000),
    delay: withDefault(wholeSeconds(NonNegativeDuration, 0, 900), 0),
    codec: PayloadCodecSetting,
  },
);

/**
 * Decodes an SQS connector config, filling defaults.
 *
 * @example
 * ```ts
 * const config = sqsConnectorConfig({ queue: 'orders', visibilityTimeout: '1m' });
 * config.maxReceiveCount; // 5
 * config.fetchWait; // 1000
 * ```
 * @throws PolicyError naming every wrong path, e.g. `visibilityTimeout: expected whole seconds
 * from 1 s to 43200 s (e.g. "1s"), got 1500`.
 */
export function sqsConnectorConfig<P = unknown>(
  input: SqsConnectorConfigInput<P>,
): SqsConnectorConfig<P> {
  return decodePolicy(
    SqsConnectorConfigCodec,
    'sqs connector config',
    input,
  ) as SqsConnectorConfig<P>;
}
