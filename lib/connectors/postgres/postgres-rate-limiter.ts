import type * as t from 'io-ts';
import { PolicyError } from '../../core/errors.js';
import { renderValue } from '../../core/renderers.js';
import { decodePolicy, orNull, strictStruct, withDefault } from '../../policy/codecs/structures.js';
import {
  type DurationInput,
  NonEmptyText,
  NonNegativeDuration,
  PositiveDuration,
} from '../../policy/codecs/values.js';
import type { RateLimit } from '../../policy/policy-sections.js';
import {
  limiterAnswer,
  type RateLimiter,
  type RateLimiterGrant,
  RateLimiterUnavailableError,
} from '../../policy/rate-limiter.js';
import {
  PostgresConnectionConfigCodec,
  type PostgresConnectionConfig,
  type PostgresConnectionConfigInput,
} from './postgres-connection-config.js';
import { PostgresService } from './postgres-service.js';
import { quoteIdentifier, SqlIdentifier } from './sql-identifier.js';

/** Everything a {@link PostgresRateLimiter} needs, fully decoded with defaults filled in. */
export interface PostgresRateLimiterConfig {
  /** How the limiter's own `PostgresService` connects (unused with a shared service). */
  readonly connection: PostgresConnectionConfig;
  readonly schema: string;
  /** The table of limits (one row per key), created by `migrate()`. */
  readonly table: string;
  /** The limit's row: the same for every worker sharing it. */
  readonly key: string;
  /** How far ahead of their due time permits are granted, in ms; `null`: a tenth of the interval. */
  readonly ahead: number | null;
  /** Longest wait for an answer, in ms; a take that waits longer fails. */
  readonly timeout: number;
}

/** A {@link PostgresRateLimiterConfig} as code, JSON or environment variables may give it. */
export interface PostgresRateLimiterConfigInput {
  readonly connection?: PostgresConnectionConfigInput | null;
  /** Default `public`. */
  readonly schema?: string;
  /** Default `ergon_rate_limits`. */
  readonly table?: string;
  /** Default `default`. */
  readonly key?: string;
  /** Default `null` (a tenth of the interval). */
  readonly ahead?: DurationInput | null;
  /** Default 1 s. */
  readonly timeout?: DurationInput;
}

/** The io-ts codec behind {@link postgresRateLimiterConfig}. */
export const PostgresRateLimiterConfigCodec: t.Type<
  PostgresRateLimiterConfig,
  PostgresRateLimiterConfig
> = strictStruct('PostgresRateLimiterConfig', {
  connection: PostgresConnectionConfigCodec,
  schema: withDefault(SqlIdentifier, 'public'),
  table: withDefault(SqlIdentifier, 'ergon_rate_limits'),
  key: withDefault(NonEmptyText, 'default'),
  ahead: withDefault(orNull(NonNegativeDuration), null),
  timeout: withDefault(PositiveDuration, 1000),
});

/**
 * Decodes a PostgreSQL rate limiter config, filling defaults.
 *
 * @example
 * ```ts
 * postgresRateLimiterConfig({ key: 'partner-api' }).table; // 'ergon_rate_limits'
 * ```
 * @throws PolicyError naming every wrong path.
 */
export function postgresRateLimiterConfig(
  input: PostgresRateLimiterConfigInput,
): PostgresRateLimiterConfig {
  return decodePolicy(PostgresRateLimiterConfigCodec, 'postgres rate limiter config', input);
}

/**
 * A rate limit shared by every process that uses the same row (`table`, `key`): give each
 * worker a `PostgresRateLimiter` on that row as `loop.rateLimit.limiter`. The generic cell
 * rate algorithm runs in one statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, under
 * the row's lock) on the server's `clock_timestamp()`, so the workers' clocks do not matter;
 * one take grants a block of permits (those due within `ahead`, default a tenth of the
 * interval). Call `migrate()` once to create the table.
 *
 * @example
 * ```ts
 * import { consume, consumerTask, MemoryConnector } from 'ergon-rx';
 * import { PostgresRateLimiter } from 'ergon-rx/postgres';
 *
 * const limiter = new PostgresRateLimiter({ connection: { url: 'postgres://127.0.0.1/test' }, key: 'partner-api' });
 * await limiter.migrate();
 * const connector = new MemoryConnector<{ id: string }>({ source: [{ id: 'o-1' }] });
 * consume(connector, consumerTask({ process: async () => {} }), {
 *   loop: { rateLimit: { limit: 100, interval: '1s', limiter } },
 * }).subscribe({ complete: () => void limiter.close() });
 * ```
 */
export class PostgresRateLimiter implements RateLimiter {
  readonly config: PostgresRateLimiterConfig;
  private readonly service: PostgresService;
  private readonly ownsService: boolean;
  private readonly tableName: string;
  private readonly statement: string;

  /**
   * @param service a shared {@link PostgresService} (closed by its owner).
   * @throws PolicyError when `input` is invalid, or has `connection` while `service` is given.
   */
  constructor(input: PostgresRateLimiterConfigInput, service?: PostgresService) {
    this.config = postgresRateLimiterConfig(input);
    if (service !== undefined && input.connection != null) {
      throw new PolicyError('postgres rate limiter config', [
        {
          path: 'connection',
          expected: 'no connection settings with a shared PostgresService',
          actual: renderValue(input.connection),
        },
      ]);
    }
    this.service = service ?? new PostgresService(this.config.connection);
    this.ownsService = service === undefined;
    this.tableName = `${quoteIdentifier(this.config.schema)}.${quoteIdentifier(this.config.table)}`;
    // $1 key, $2 wanted, $3 period, $4 burst, $5 ahead (ms); `now` on the server's clock.
    const grant = (now: string, tat: string): string =>
      `least($2::int, greatest(0, floor((${now} + $5::float8 - ${tat}) / $3::float8 + $4::float8 + 1e-9)::int + 1))`;
    this.statement = `INSERT INTO ${this.tableName} AS r (key, at, granted, tat)
SELECT $1, c.now, g.n, c.now + g.n * $3::float8
FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now) c,
LATERAL (SELECT ${grant('c.now', 'c.now')} AS n) g
ON CONFLICT (key) DO UPDATE SET
  at = excluded.at,
  granted = ${grant('excluded.at', 'greatest(r.tat, excluded.at)')},
  tat = greatest(r.tat, excluded.at) + ${grant('excluded.at', 'greatest(r.tat, excluded.at)')} * $3::float8
RETURNING granted, tat, at`;
  }

  /** Creates the schema's table of limits when missing. Idempotent. */
  async migrate(): Promise<void> {
    await this.service.query({
      text: `CREATE TABLE IF NOT EXISTS ${this.tableName} (
  key text PRIMARY KEY,
  tat double precision NOT NULL,
  at double precision NOT NULL,
  granted integer NOT NULL
)`,
    });
  }

  /**
   * Takes up to `wanted` permits of `rate` (one statement).
   *
   * @throws RateLimiterUnavailableError when PostgreSQL does not answer within `timeout`,
   * fails, or the table is missing (call `migrate()`).
   */
  take(wanted: number, rate: RateLimit, signal?: AbortSignal): Promise<RateLimiterGrant> {
    const what = `PostgreSQL rate limiter ${this.tableName} (${this.config.key})`;
    return limiterAnswer(this.run(wanted, rate), this.config.timeout, what, signal);
  }

  /** Closes the limiter's own pool (not a shared service). */
  async close(): Promise<void> {
    if (this.ownsService) await this.service.close();
  }

  private async run(wanted: number, rate: RateLimit): Promise<RateLimiterGrant> {
    const period = rate.interval / rate.limit;
    const ahead = this.config.ahead ?? rate.interval / 10;
    const count = Math.max(1, Math.floor(wanted));
    let result;
    try {
      result = await this.service.query<{ granted: number; tat: number; at: number }>({
        text: this.statement,
        values: [this.config.key, count, period, rate.burst, ahead],
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === '42P01') {
        throw new RateLimiterUnavailableError(
          `table ${this.tableName} does not exist: call migrate() first`,
          { cause: error },
        );
      }
      throw error;
    }
    const row = result.rows[0];
    if (row === undefined) throw new RateLimiterUnavailableError('the statement returned no row');
    const granted = row.granted;
    if (granted >= count) return { granted };
    const retryAfter = Math.max(1, Math.ceil(row.tat - rate.burst * period - ahead - row.at));
    return { granted, retryAfter };
  }
}
