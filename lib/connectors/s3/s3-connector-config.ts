import * as t from 'io-ts';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import {
  BooleanFlag,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
  keywordCodec,
  NonEmptyText,
  NonNegativeInteger,
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

/** How objects become transactions: one per object, or one per line of JSON-lines objects. */
export type S3ObjectFormat = 'object' | 'jsonLines';

/** What `ack` does with a finished object: move it under `donePrefix`, or delete it. */
export type S3AckAction = 'move' | 'delete';

/** A share of the objects for one worker, by key hash (for servers without conditional writes). */
export interface S3Partition {
  /** This worker's partition, 0 … `count` − 1. */
  readonly index: number;
  readonly count: number;
}

/** Everything an {@link S3Connector} needs, fully decoded with defaults filled in. */
export interface S3ConnectorConfig<P = unknown> {
  /** How the connector's own S3 client connects (unused with a shared client). */
  readonly connection: AwsConnectionConfig;
  /** Path-style URLs (`endpoint/bucket/key`), or `null`: path style exactly when an endpoint is set. */
  readonly pathStyle: boolean | null;
  readonly bucket: string;
  /** Where objects to process are listed, e.g. `incoming/` (`''`: the whole bucket). */
  readonly prefix: string;
  /** Where `ack` moves finished objects (the key's part after `prefix` is kept). */
  readonly donePrefix: string;
  /** Where `deadLetter` moves failed objects (or writes failed lines), with the error as metadata. */
  readonly failedPrefix: string;
  /** Where the claim (lease and cursor) of each object being processed lives. */
  readonly claimPrefix: string;
  readonly format: S3ObjectFormat;
  readonly onAck: S3AckAction;
  /**
   * Claim objects with conditional writes (`If-None-Match: *`, `If-Match`) so that workers
   * never process one object at once. `false`: no claims (one worker, or `partition`).
   */
  readonly claims: boolean;
  /** How long a claim lasts unless renewed (renewed every third of it while held), in ms. */
  readonly claimTtl: number;
  /** Only objects whose key hashes to this partition (see `partitionOf`), or `null` for all. */
  readonly partition: S3Partition | null;
  /** Bytes read per ranged GET of a JSON-lines object (the most held in memory per object). */
  readonly readChunk: number;
  /** Suffix of the keys `dispatch` writes (`.json` / `.jsonl` by format when `null`). */
  readonly suffix: string | null;
  readonly codec: PayloadCodec<P>;
}

/** An {@link S3ConnectorConfig} as code, JSON or environment variables may give it. */
export interface S3ConnectorConfigInput<P = unknown> {
  /** Default: all {@link AwsConnectionConfigInput} defaults. Not allowed with a shared client. */
  readonly connection?: AwsConnectionConfigInput | null;
  /** Default `null`. */
  readonly pathStyle?: BooleanInput | null;
  /** Required. */
  readonly bucket: string;
  /** Default `''`. */
  readonly prefix?: string;
  /** Default `done/`. */
  readonly donePrefix?: string;
  /** Default `failed/`. */
  readonly failedPrefix?: string;
  /** Default `claims/`. */
  readonly claimPrefix?: string;
  /** Default `object`. */
  readonly format?: S3ObjectFormat | (string & Record<never, never>);
  /** Default `move`. */
  readonly onAck?: S3AckAction | (string & Record<never, never>);
  /** Default `true`. */
  readonly claims?: BooleanInput;
  /** Default 60 s. */
  readonly claimTtl?: DurationInput;
  /** Default `null`. */
  readonly partition?: { readonly index: IntegerInput; readonly count: IntegerInput } | null;
  /** Default 1 MiB. */
  readonly readChunk?: IntegerInput;
  /** Default `null`. */
  readonly suffix?: string | null;
  /** Default `jsonCodec`. */
  readonly codec?: PayloadCodec<P>;
}

/** A key prefix: `''` or text ending in `/`. */
const KeyPrefix = guardCodec(
  'key prefix ending in "/" (or "")',
  (u): u is string => typeof u === 'string' && (u === '' || u.endsWith('/')),
);

const FolderPrefix = t.refinement(
  KeyPrefix,
  (u) => u !== '',
  'non-empty key prefix ending in "/"',
) as t.Type<string, unknown> as t.Type<string, string>;

const PartitionCodec = t.refinement(
  strictStruct('S3Partition', { index: NonNegativeInteger, count: PositiveInteger }),
  (p) => p.index < p.count,
  '{ index, count } with 0 ≤ index < count',
) as t.Type<S3Partition, unknown> as t.Type<S3Partition, S3Partition>;

/**
 * The io-ts codec behind {@link s3ConnectorConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = S3ConnectorConfigCodec.decode({ bucket: 'inbox' }); // Either<Errors, S3ConnectorConfig>
 * ```
 */
export const S3ConnectorConfigCodec: t.Type<S3ConnectorConfig, S3ConnectorConfig> = strictStruct(
  'S3ConnectorConfig',
  {
    connection: AwsConnectionConfigCodec,
    pathStyle: withDefault(orNull(BooleanFlag), null),
    bucket: NonEmptyText,
    prefix: withDefault(KeyPrefix, ''),
    donePrefix: withDefault(FolderPrefix, 'done/'),
    failedPrefix: withDefault(FolderPrefix, 'failed/'),
    claimPrefix: withDefault(FolderPrefix, 'claims/'),
    format: withDefault(keywordCodec<S3ObjectFormat>(['object', 'jsonLines']), 'object'),
    onAck: withDefault(keywordCodec<S3AckAction>(['move', 'delete']), 'move'),
    claims: withDefault(BooleanFlag, true),
    claimTtl: withDefault(PositiveDuration, 60_000),
    partition: withDefault(orNull(PartitionCodec), null),
    readChunk: withDefault(PositiveInteger, 1_048_576),
    suffix: withDefault(orNull(t.string), null),
    codec: PayloadCodecSetting,
  },
);

/**
 * Decodes an S3 connector config, filling defaults.
 *
 * @example
 * ```ts
 * const config = s3ConnectorConfig({ bucket: 'inbox', prefix: 'orders/', format: 'jsonLines' });
 * config.donePrefix; // 'done/'
 * config.claimTtl; // 60000
 * ```
 * @throws PolicyError naming every wrong path, e.g. `prefix: expected key prefix ending in "/"
 * (or ""), got "orders"`.
 */
export function s3ConnectorConfig<P = unknown>(
  input: S3ConnectorConfigInput<P>,
): S3ConnectorConfig<P> {
  const config = decodePolicy(
    S3ConnectorConfigCodec,
    's3 connector config',
    input,
  ) as S3ConnectorConfig<P>;
  return config;
}
