import { PolicyError } from '../../core/errors.js';
import { describeValue } from '../../core/renderers.js';
import type { TickClaim, TickClaimResult, TickOutcome, TickStore } from '../../core/tick-store.js';
import type { PostgresConnectionConfigInput } from './postgres-connection-config.js';
import { PostgresService } from './postgres-service.js';
import { isSqlIdentifier, quoteIdentifier } from './sql-identifier.js';

/** Options of a {@link PostgresTickStore}. */
export interface PostgresTickStoreOptions {
  /** A service to share (not closed by the store); else one is opened from `connection`. */
  readonly service?: PostgresService;
  readonly connection?: PostgresConnectionConfigInput;
  /** The ticks table (default `ergon_ticks`), in `schema` (default `public`). */
  readonly table?: string;
  readonly schema?: string;
  /** How long settled ticks are kept (ms, default 7 days): older rows are deleted on claims. */
  readonly retention?: number;
}

/**
 * A {@link TickStore} in a PostgreSQL table, shared by every worker of a schedule: a row per
 * tick (`schedule`, `tick` in ms, `state` running|done|deadLetter|skipped, `owner`,
 * `lease_until`, `error`). A claim runs in one transaction under an advisory lock of its
 * schedule, so two workers claiming the same tick (or, with `overlap: 'skip'`, two ticks of
 * one schedule) are serialised: exactly one gets `claimed`. Times are the server's clock.
 * Call `migrate()` once (from every worker if you like).
 *
 * @example
 * ```ts
 * import { PostgresTickStore } from 'ergon-rx/postgres';
 * import { cronConnector } from 'ergon-rx/schedule';
 *
 * const store = new PostgresTickStore({ connection: { url: 'postgres://app@db/jobs' } });
 * await store.migrate();
 * const ticks = cronConnector({ schedule: '*\/5 * * * *', payload: {}, store });
 * ```
 */
export class PostgresTickStore implements TickStore {
  readonly service: PostgresService;
  private readonly ownsService: boolean;
  private readonly table: string;
  private readonly retention: number;

  /** @throws PolicyError when `table` or `schema` is not an SQL identifier. */
  constructor(options: PostgresTickStoreOptions = {}) {
    const table = options.table ?? 'ergon_ticks';
    const schema = options.schema ?? 'public';
    for (const [path, name] of [
      ['table', table],
      ['schema', schema],
    ] as const) {
      if (!isSqlIdentifier(name)) {
        throw new PolicyError('PostgreSQL tick store options', [
          { path, expected: 'an SQL identifier (letters, digits, _)', actual: describeValue(name) },
        ]);
      }
    }
    this.table = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    this.retention = options.retention ?? 7 * 24 * 3_600_000;
    this.ownsService = options.service === undefined;
    this.service = options.service ?? new PostgresService(options.connection);
  }

  /** Creates the ticks table when missing (under the migration advisory lock of ergon-rx). */
  async migrate(): Promise<void> {
    await this.service.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [0x6572676f]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
  schedule text NOT NULL,
  tick bigint NOT NULL,
  state text NOT NULL,
  owner text NOT NULL,
  lease_until timestamptz,
  error text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (schedule, tick)
)`);
    });
  }

  claim(claim: TickClaim): Promise<TickClaimResult> {
    const { schedule, tick, owner, lease, exclusive } = claim;
    return this.service.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [schedule]);
      const existing = await client.query<{ free: boolean }>(
        `SELECT (state = 'running' AND lease_until <= clock_timestamp()) AS free
FROM ${this.table} WHERE schedule = $1 AND tick = $2`,
        [schedule, tick],
      );
      const row = existing.rows[0];
      if (row !== undefined && !row.free) return 'taken';
      if (exclusive) {
        const running = await client.query(
          `SELECT 1 FROM ${this.table} WHERE schedule = $1 AND tick <> $2 AND state = 'running'
  AND lease_until > clock_timestamp() LIMIT 1`,
          [schedule, tick],
        );
        if (running.rows.length > 0) {
          await client.query(
            `INSERT INTO ${this.table} (schedule, tick, state, owner) VALUES ($1, $2, 'skipped', $3)
ON CONFLICT (schedule, tick) DO UPDATE SET state = 'skipped', owner = $3, lease_until = NULL`,
            [schedule, tick, owner],
          );
          return 'overlap';
        }
      }
      await client.query(
        `INSERT INTO ${this.table} (schedule, tick, state, owner, lease_until)
VALUES ($1, $2, 'running', $3, clock_timestamp() + $4 * interval '1 millisecond')
ON CONFLICT (schedule, tick) DO UPDATE SET state = 'running', owner = $3,
  lease_until = excluded.lease_until, updated_at = clock_timestamp()`,
        [schedule, tick, owner, lease],
      );
      await client.query(
        `DELETE FROM ${this.table} WHERE schedule = $1 AND tick < $2 AND state <> 'running'`,
        [schedule, tick - this.retention],
      );
      return 'claimed';
    });
  }

  async settle(
    schedule: string,
    tick: number,
    owner: string,
    outcome: TickOutcome,
    error?: string,
  ): Promise<void> {
    if (outcome === 'released') {
      await this.service.query({
        text: `DELETE FROM ${this.table} WHERE schedule = $1 AND tick = $2 AND owner = $3 AND state = 'running'`,
        values: [schedule, tick, owner],
      });
      return;
    }
    await this.service.query({
      text: `UPDATE ${this.table} SET state = $4, error = $5, lease_until = NULL,
  updated_at = clock_timestamp()
WHERE schedule = $1 AND tick = $2 AND owner = $3 AND state = 'running'`,
      values: [schedule, tick, owner, outcome, error ?? null],
    });
  }

  async latest(schedule: string): Promise<number | undefined> {
    const result = await this.service.query<{ tick: string | null }>({
      text: `SELECT max(tick)::text AS tick FROM ${this.table}
WHERE schedule = $1 AND NOT (state = 'running' AND lease_until <= clock_timestamp())`,
      values: [schedule],
    });
    const tick = result.rows[0]?.tick;
    return tick === null || tick === undefined ? undefined : Number(tick);
  }

  /** Closes the store's own service (not a shared one); idempotent. */
  async close(): Promise<void> {
    if (this.ownsService) await this.service.close();
  }
}
