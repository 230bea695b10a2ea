import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import {
  decodePolicy,
  guardCodec,
  isPlainObject,
  optional,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import { type DurationInput, NonEmptyText, PositiveDuration } from '../../policy/codecs/values.js';
import {
  PostgresConnectionConfigCodec,
  type PostgresConnectionConfig,
  type PostgresConnectionConfigInput,
} from './postgres-connection-config.js';
import { MAX_IDENTIFIER_BYTES } from './sql-identifier.js';

/** A value a settlement writes into a column (bound as a parameter, never spliced into SQL). */
export type TableValue = string | number | boolean | null;

/**
 * How rows are claimed. `status`: a status column moves `ready` → `claimed` → whatever the
 * settlement sets, and the lease column holds when the claim expires. `lock`: a lock column
 * holds the claim's owner token (`NULL` when free) and the lease column when it expires.
 */
export type TableClaim =
  | {
      readonly type: 'status';
      readonly statusColumn: string;
      readonly leaseColumn: string;
      /** The status of a row waiting to be processed. */
      readonly ready: string;
      /** The status of a claimed row. */
      readonly claimed: string;
    }
  | { readonly type: 'lock'; readonly lockColumn: string; readonly leaseColumn: string };

/**
 * What a settlement does to the row: `delete` it, `update` it (`set` columns to values,
 * `errorColumn` to the error message on a dead letter), or run your `sql` (`$1` the row's id,
 * `$2` the error message on a dead letter).
 */
export type TableSettlement =
  | { readonly type: 'delete' }
  | {
      readonly type: 'update';
      readonly set: Readonly<Record<string, TableValue>>;
      readonly errorColumn: string | null;
    }
  | { readonly type: 'sql'; readonly sql: string };

/** A {@link TableSettlement} as the config accepts it. */
export type TableSettlementInput =
  | 'delete'
  | { readonly set: Readonly<Record<string, TableValue>>; readonly errorColumn?: string }
  | { readonly sql: string };

/** A {@link TableClaim} as the config accepts it. */
export type TableClaimInput =
  | {
      readonly statusColumn: string;
      readonly leaseColumn: string;
      /** Default `pending`. */
      readonly ready?: string;
      /** Default `processing`. */
      readonly claimed?: string;
    }
  | { readonly lockColumn: string; readonly leaseColumn: string };

/** Everything a `PostgresTableConnector` needs, decoded with defaults filled in. */
export interface PostgresTableConfig<P = Readonly<Record<string, unknown>>> {
  readonly connection: PostgresConnectionConfig;
  readonly schema: string;
  /** The table whose rows are processed: yours, with its own columns. */
  readonly table: string;
  /** The column that identifies a row (its value, as text, is the transaction id). */
  readonly idColumn: string;
  /** SQL condition on the table's columns selecting the rows to process, or `null`: all. */
  readonly where: string | null;
  /** SQL query whose `idColumn` column lists the rows to process, or `null`. */
  readonly fetchQuery: string | null;
  /** Columns rows are claimed in order of (ascending). */
  readonly orderBy: readonly string[];
  readonly claim: TableClaim;
  readonly settle: { readonly ack: TableSettlement; readonly deadLetter: TableSettlement };
  /** How long a claim lasts unless renewed (a crashed worker's rows come back after it). */
  readonly lease: number;
  /** Turns a claimed row into the payload; throwing marks the transaction undecodable. */
  readonly decode: ((row: Readonly<Record<string, unknown>>) => P) | null;
}

/** A {@link PostgresTableConfig} as {@link postgresTableConfig} accepts it. */
export interface PostgresTableConfigInput<P = Readonly<Record<string, unknown>>> {
  readonly connection?: PostgresConnectionConfigInput | null;
  /** Default `public`. */
  readonly schema?: string;
  /** Required. Any name: it is always quoted. */
  readonly table: string;
  /** Default `id`. */
  readonly idColumn?: string;
  /** Default: every row the claim finds ready. */
  readonly where?: string;
  /** Default: none. A query such as `SELECT id FROM orders WHERE region = 'eu'`. */
  readonly fetchQuery?: string;
  /** Default `[idColumn]`. */
  readonly orderBy?: readonly string[];
  readonly claim: TableClaimInput;
  /**
   * Default with a status claim: `ack` sets the status to `done`, `deadLetter` to `failed`.
   * Required with a lock claim.
   */
  readonly settle?: {
    readonly ack?: TableSettlementInput;
    readonly deadLetter?: TableSettlementInput;
  };
  /** Default 30 s. */
  readonly lease?: DurationInput;
  /** Default: the row object as it is. */
  readonly decode?: (row: Readonly<Record<string, unknown>>) => P;
}

const isColumnName = (u: unknown): u is string =>
  typeof u === 'string' &&
  u !== '' &&
  !u.includes('\u0000') &&
  Buffer.byteLength(u) <= MAX_IDENTIFIER_BYTES;

/** Any PostgreSQL name (quoted in every statement): non-empty, no NUL, at most 63 bytes. */
const Name = guardCodec(
  `name (non-empty, no NUL character, at most ${MAX_IDENTIFIER_BYTES} bytes)`,
  isColumnName,
);

const isTableValue = (u: unknown): u is TableValue =>
  u === null ||
  typeof u === 'string' ||
  typeof u === 'boolean' ||
  (typeof u === 'number' && Number.isFinite(u));

const SetColumns = guardCodec(
  'non-empty object of column → string | number | boolean | null',
  (u): u is Readonly<Record<string, TableValue>> =>
    isPlainObject(u) &&
    Object.keys(u).length > 0 &&
    Object.entries(u).every(([key, value]) => isColumnName(key) && isTableValue(value)),
);

const StatusClaim = strictStruct('status claim', {
  statusColumn: Name,
  leaseColumn: Name,
  ready: withDefault(NonEmptyText, 'pending'),
  claimed: withDefault(NonEmptyText, 'processing'),
});
const LockClaim = strictStruct('lock claim', { lockColumn: Name, leaseColumn: Name });
const UpdateSettlement = strictStruct('update settlement', {
  set: SetColumns,
  errorColumn: withDefault(t.union([Name, t.null]), null),
});
const SqlSettlement = strictStruct('sql settlement', { sql: NonEmptyText });

const Claim = new t.Type<TableClaim, TableClaim, unknown>(
  'claim',
  (u): u is TableClaim => isPlainObject(u) && (u['type'] === 'status' || u['type'] === 'lock'),
  (u, c) => {
    if (isPlainObject(u) && 'statusColumn' in u) {
      const claim = StatusClaim.validate(u, c);
      return isLeft(claim) ? claim : t.success({ type: 'status', ...claim.right });
    }
    if (isPlainObject(u) && 'lockColumn' in u) {
      const claim = LockClaim.validate(u, c);
      return isLeft(claim) ? claim : t.success({ type: 'lock', ...claim.right });
    }
    return t.failure(
      u,
      c,
      '{ statusColumn, leaseColumn, ready?, claimed? } or { lockColumn, leaseColumn }',
    );
  },
  t.identity,
);

const Settlement = new t.Type<TableSettlement, TableSettlement, unknown>(
  'settlement',
  (u): u is TableSettlement => isPlainObject(u) && typeof u['type'] === 'string',
  (u, c) => {
    if (u === 'delete') return t.success({ type: 'delete' });
    if (isPlainObject(u) && 'set' in u) {
      const update = UpdateSettlement.validate(u, c);
      return isLeft(update) ? update : t.success({ type: 'update', ...update.right });
    }
    if (isPlainObject(u) && 'sql' in u) {
      const sql = SqlSettlement.validate(u, c);
      return isLeft(sql) ? sql : t.success({ type: 'sql', ...sql.right });
    }
    return t.failure(u, c, '"delete", { set, errorColumn? } or { sql }');
  },
  t.identity,
);

const isFunction = (u: unknown): u is (row: Readonly<Record<string, unknown>>) => unknown =>
  typeof u === 'function';

const RawConfig = strictStruct('PostgresTableConnector', {
  connection: PostgresConnectionConfigCodec,
  schema: withDefault(Name, 'public'),
  table: Name,
  idColumn: withDefault(Name, 'id'),
  where: withDefault(t.union([NonEmptyText, t.null]), null),
  fetchQuery: withDefault(t.union([NonEmptyText, t.null]), null),
  orderBy: optional(
    guardCodec(
      'non-empty array of column names',
      (u): u is readonly string[] => Array.isArray(u) && u.length > 0 && u.every(isColumnName),
    ),
  ),
  claim: Claim,
  settle: strictStruct('settle', { ack: optional(Settlement), deadLetter: optional(Settlement) }),
  lease: withDefault(PositiveDuration, 30_000),
  decode: withDefault(t.union([guardCodec('function', isFunction), t.null]), null),
});

/** The io-ts codec behind {@link postgresTableConfig}: fills the settlements and checks they fit the claim. */
export const PostgresTableConfigCodec: t.Type<PostgresTableConfig, PostgresTableConfig> =
  new t.Type<PostgresTableConfig, PostgresTableConfig, unknown>(
    RawConfig.name,
    (u): u is PostgresTableConfig => isPlainObject(u) && isPlainObject(u['claim']),
    (input, c) => {
      const raw = RawConfig.validate(input, c);
      if (isLeft(raw)) return raw;
      const { claim, settle, orderBy, decode, ...rest } = raw.right;
      const fallback = (status: string): TableSettlement | undefined =>
        claim.type === 'status'
          ? { type: 'update', set: { [claim.statusColumn]: status }, errorColumn: null }
          : undefined;
      const ack = settle.ack ?? fallback('done');
      const deadLetter = settle.deadLetter ?? fallback('failed');
      const settleContext = t.appendContext(c, 'settle', t.unknown, settle);
      if (ack === undefined || deadLetter === undefined) {
        return t.failure(
          settle,
          settleContext,
          'settle.ack and settle.deadLetter with a lock claim (what marks a row done: "delete", { set } or { sql })',
        );
      }
      for (const [name, settlement] of [
        ['ack', ack],
        ['deadLetter', deadLetter],
      ] as const) {
        const where = t.appendContext(settleContext, name, t.unknown, settlement);
        if (settlement.type !== 'update') continue;
        if (claim.type === 'status') {
          const status = settlement.set[claim.statusColumn];
          if (status === undefined || status === claim.claimed) {
            return t.failure(
              settlement,
              where,
              `a set that moves ${claim.statusColumn} out of "${claim.claimed}" (else the row would be claimed again)`,
            );
          }
        } else if (rest.where === null && rest.fetchQuery === null) {
          return t.failure(
            settlement,
            where,
            '"delete", or a where/fetchQuery that leaves settled rows out (a lock claim frees the row, so an updated row would be claimed again)',
          );
        }
      }
      return t.success({
        ...rest,
        claim,
        orderBy: orderBy ?? [rest.idColumn],
        settle: { ack, deadLetter },
        decode: decode as PostgresTableConfig['decode'],
      });
    },
    t.identity,
  );

/**
 * Decodes a PostgreSQL table connector's configuration, filling defaults.
 *
 * @example
 * ```ts
 * const config = postgresTableConfig({
 *   table: 'invoices',
 *   claim: { statusColumn: 'state', leaseColumn: 'claimed_until' },
 * });
 * config.settle.ack; // { type: 'update', set: { state: 'done' }, errorColumn: null }
 * ```
 * @throws PolicyError naming every wrong path (`claim.leaseColumn`, `settle.ack`, …).
 */
export function postgresTableConfig<P = Readonly<Record<string, unknown>>>(
  input: PostgresTableConfigInput<P>,
): PostgresTableConfig<P> {
  return decodePolicy(
    PostgresTableConfigCodec,
    'PostgreSQL table connector config',
    input,
  ) as PostgresTableConfig<P>;
}
