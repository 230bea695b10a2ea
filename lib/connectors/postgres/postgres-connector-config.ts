import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { decodePolicy, orNull, strictStruct, withDefault } from '../../policy/codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from '../../policy/codecs/values.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import {
  PostgresConnectionConfigCodec,
  type PostgresConnectionConfig,
  type PostgresConnectionConfigInput,
} from './postgres-connection-config.js';
import { isSqlIdentifier, MAX_IDENTIFIER_BYTES, SqlIdentifier } from './sql-identifier.js';

/**
 * The type of the queue table's `payload` column. `jsonb`: the codec must produce JSON text
 * (UTF-8), PostgreSQL validates and normalises it, and SQL can query it. `bytea`: the codec's
 * bytes are stored as they are (any codec: protobuf, msgpack, gzip…).
 */
export type PayloadColumnType = 'jsonb' | 'bytea';

/** Everything a {@link PostgresConnector} needs, fully decoded with defaults filled in. */
export interface PostgresConnectorConfig<P = unknown> {
  /** How to connect (unused when the connector is given a shared service). */
  readonly connection: PostgresConnectionConfig;
  /** Schema of the queue and dead tables. */
  readonly schema: string;
  /** The queue table. */
  readonly table: string;
  /** Where dead-lettered and poison rows go, with their error. */
  readonly deadTable: string;
  /** The LISTEN/NOTIFY channel that wakes waiting fetches. */
  readonly channel: string;
  readonly payloadType: PayloadColumnType;
  readonly codec: PayloadCodec<P>;
  /** How long a fetch that finds nothing waits for a notification before it completes empty. */
  readonly fetchWait: number;
  /** Visibility timeout: how long a claimed row stays invisible to other consumers. */
  readonly lease: number;
  /** Deliveries after which a row that comes back goes to the dead table instead. */
  readonly maxDeliveries: number;
  /** How long a released row stays invisible before it can be claimed again. */
  readonly releaseDelay: number;
  /** Most rows per INSERT statement in `dispatch`. */
  readonly dispatchBatch: number;
}

/** A {@link PostgresConnectorConfig} as {@link postgresConnectorConfig} accepts it. */
export interface PostgresConnectorConfigInput<P = unknown> {
  readonly connection?: PostgresConnectionConfigInput | null;
  /** Default `public`. */
  readonly schema?: string;
  /** Required. */
  readonly table: string;
  /** Default `<table>_dead`. */
  readonly deadTable?: string | null;
  /** Default the table name. */
  readonly channel?: string | null;
  /** Default `jsonb`. */
  readonly payloadType?: PayloadColumnType;
  /** Default `jsonCodec`. */
  readonly codec?: PayloadCodec<P>;
  /** Default 1 s. */
  readonly fetchWait?: DurationInput;
  /** Default 30 s. */
  readonly lease?: DurationInput;
  /** Default 5. */
  readonly maxDeliveries?: IntegerInput;
  /** Default 0. */
  readonly releaseDelay?: DurationInput;
  /** Default 1000. */
  readonly dispatchBatch?: IntegerInput;
}

const payloadTypes: readonly string[] = ['jsonb', 'bytea'] satisfies readonly PayloadColumnType[];

const isPayloadType = (u: unknown): u is PayloadColumnType =>
  typeof u === 'string' && payloadTypes.includes(u);

const PayloadTypeCodec = scalarCodec<PayloadColumnType>('"jsonb" | "bytea"', isPayloadType, (u) => {
  const word = typeof u === 'string' ? u.trim().toLowerCase() : u;
  return isPayloadType(word) ? word : undefined;
});

const isChannel = (u: unknown): u is string =>
  typeof u === 'string' && u !== '' && Buffer.byteLength(u) <= MAX_IDENTIFIER_BYTES;

const Channel = scalarCodec(
  `non-empty string of at most ${MAX_IDENTIFIER_BYTES} bytes`,
  isChannel,
  (u) => (isChannel(u) ? u : undefined),
);

const RawConfig = strictStruct('PostgresConnector', {
  connection: PostgresConnectionConfigCodec,
  schema: withDefault(SqlIdentifier, 'public'),
  table: SqlIdentifier,
  deadTable: withDefault(orNull(SqlIdentifier), null),
  channel: withDefault(orNull(Channel), null),
  payloadType: withDefault(PayloadTypeCodec, 'jsonb'),
  codec: PayloadCodecSetting,
  fetchWait: withDefault(NonNegativeDuration, 1000),
  lease: withDefault(PositiveDuration, 30_000),
  maxDeliveries: withDefault(PositiveInteger, 5),
  releaseDelay: withDefault(NonNegativeDuration, 0),
  dispatchBatch: withDefault(PositiveInteger, 1000),
});

/** The io-ts codec behind {@link postgresConnectorConfig}: derives `deadTable` and `channel`. */
export const PostgresConnectorConfigCodec: t.Type<
  PostgresConnectorConfig,
  PostgresConnectorConfig
> = new t.Type<PostgresConnectorConfig, PostgresConnectorConfig, unknown>(
  RawConfig.name,
  (u): u is PostgresConnectorConfig =>
    RawConfig.is(u) && u.deadTable !== null && u.channel !== null,
  (input, c) => {
    const raw = RawConfig.validate(input, c);
    if (isLeft(raw)) return raw;
    const { deadTable, channel, ...rest } = raw.right;
    const table = rest.table;
    const derivedDeadTable = deadTable ?? `${table}_dead`;
    if (!isSqlIdentifier(derivedDeadTable)) {
      return t.failure(
        derivedDeadTable,
        t.appendContext(c, 'deadTable', SqlIdentifier, deadTable),
        `an explicit deadTable (the derived name is longer than ${MAX_IDENTIFIER_BYTES} bytes)`,
      );
    }
    if (derivedDeadTable === table) {
      return t.failure(
        deadTable,
        t.appendContext(c, 'deadTable', SqlIdentifier, deadTable),
        'a table other than the queue table',
      );
    }
    return t.success({ ...rest, deadTable: derivedDeadTable, channel: channel ?? table });
  },
  t.identity,
);

/**
 * Decodes a PostgreSQL connector's configuration, filling defaults.
 *
 * @example
 * ```ts
 * const config = postgresConnectorConfig({
 *   connection: { url: 'postgres://app@db/jobs' },
 *   table: 'orders',
 *   lease: '1m',
 * });
 * config.deadTable; // 'orders_dead'
 * ```
 * @throws PolicyError naming every wrong path (`table`, `connection.url`, …).
 */
export function postgresConnectorConfig<P = unknown>(
  input: PostgresConnectorConfigInput<P>,
): PostgresConnectorConfig<P> {
  return decodePolicy(
    PostgresConnectorConfigCodec,
    'PostgreSQL connector config',
    input,
  ) as PostgresConnectorConfig<P>;
}
