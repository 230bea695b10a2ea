import type * as t from 'io-ts';
import { type Backoff, backoffCodec, type BackoffInput } from '../../policy/backoff.js';
import {
  concealFailures,
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import {
  type DurationInput,
  type IntegerInput,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from '../../policy/codecs/values.js';
import { MAX_IDENTIFIER_BYTES } from './sql-identifier.js';

/** How a {@link PostgresService} connects, fully decoded with defaults filled in. */
export interface PostgresConnectionConfig {
  /**
   * `postgres://user:password@host:port/database?…`, or `null` to take everything from the
   * libpq environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`).
   */
  readonly url: string | null;
  /**
   * `application_name` of every connection, shown in `pg_stat_activity` (and what
   * `pg_terminate_backend` scripts select on).
   */
  readonly applicationName: string;
  /** Most pooled connections for queries (the LISTEN connection comes on top). */
  readonly poolSize: number;
  /** Longest wait in milliseconds for a new connection. */
  readonly connectTimeout: number;
  /** Longest wait in milliseconds for a query's reply before it fails (and is retried). */
  readonly queryTimeout: number;
  /** Backoff between reconnect attempts (of the LISTEN connection, and of failed queries). */
  readonly reconnect: Backoff;
}

/** A {@link PostgresConnectionConfig} as {@link postgresConnectionConfig} accepts it. */
export interface PostgresConnectionConfigInput {
  /** Default `null` (libpq environment variables). */
  readonly url?: string | null;
  /** Default `ergon-rx`. */
  readonly applicationName?: string;
  /** Default 10. */
  readonly poolSize?: IntegerInput;
  /** Default 10 s. */
  readonly connectTimeout?: DurationInput;
  /** Default 30 s. */
  readonly queryTimeout?: DurationInput;
  /** Default 100 ms doubling up to 5 s, no jitter. */
  readonly reconnect?: BackoffInput | null;
}

const postgresProtocols = new Set(['postgres:', 'postgresql:']);

function isPostgresUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    return postgresProtocols.has(new URL(u).protocol);
  } catch {
    return false;
  }
}

/** The URL with its password replaced, so an error message never prints a secret. */
function withoutPassword(u: unknown): unknown {
  return typeof u === 'string' ? u.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@') : u;
}

const PostgresUrl = concealFailures(
  guardCodec('postgres:// or postgresql:// URL', isPostgresUrl),
  withoutPassword,
);

const isApplicationName = (u: unknown): u is string =>
  typeof u === 'string' && u !== '' && Buffer.byteLength(u) <= MAX_IDENTIFIER_BYTES;

const ApplicationName = scalarCodec(
  `non-empty string of at most ${MAX_IDENTIFIER_BYTES} bytes`,
  isApplicationName,
  (u) => (isApplicationName(u) ? u : undefined),
);

const defaultReconnect: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'none',
});

/** The io-ts codec behind {@link postgresConnectionConfig}. */
export const PostgresConnectionConfigCodec: t.Type<
  PostgresConnectionConfig,
  PostgresConnectionConfig
> = strictStruct('PostgresConnection', {
  url: withDefault(orNull(PostgresUrl), null),
  applicationName: withDefault(ApplicationName, 'ergon-rx'),
  poolSize: withDefault(PositiveInteger, 10),
  connectTimeout: withDefault(PositiveDuration, 10_000),
  queryTimeout: withDefault(PositiveDuration, 30_000),
  reconnect: backoffCodec(defaultReconnect),
});

/**
 * Decodes how to connect to PostgreSQL, filling defaults.
 *
 * @example
 * ```ts
 * postgresConnectionConfig({ url: 'postgres://app@db:5432/jobs', poolSize: '4' });
 * // { url: 'postgres://app@db:5432/jobs', applicationName: 'ergon-rx', poolSize: 4,
 * //   connectTimeout: 10000, queryTimeout: 30000, reconnect: { backoff: 100, … } }
 * ```
 * @throws PolicyError naming every wrong path (a password in a bad URL is masked).
 */
export function postgresConnectionConfig(
  input?: PostgresConnectionConfigInput | null,
): PostgresConnectionConfig {
  return decodePolicy(PostgresConnectionConfigCodec, 'PostgreSQL connection config', input);
}
