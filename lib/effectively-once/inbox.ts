import log from 'loglevel';
import type pg from 'pg';
import type * as t from 'io-ts';
import { quoteIdentifier, SqlIdentifier } from '../connectors/postgres/sql-identifier.js';
import { describeError } from '../core/renderers.js';
import { decodePolicy, strictStruct, withDefault } from '../policy/codecs/structures.js';
import { parseDuration, scalarCodec } from '../policy/codecs/values.js';
import { EffectivelyOnceError } from './errors.js';

/** Everything an {@link Inbox} needs, decoded with defaults filled in. */
export interface InboxConfig {
  readonly schema: string;
  /** The table of recorded ids. */
  readonly table: string;
  /** How long an id is kept, in ms: a redelivery later than this runs again. */
  readonly retention: number;
  /** How often expired ids are deleted, in ms. */
  readonly expireEvery: number;
}

/** An {@link InboxConfig} as code or JSON may give it. */
export interface InboxConfigInput {
  /** Default `public`. */
  readonly schema?: string;
  /** Default `ergon_inbox`. */
  readonly table?: string;
  /**
   * Milliseconds, or a string such as `"36h"` or `"7d"` (default `"7d"`). Keep it longer
   * than any redelivery can come late (the broker's retention, a consumer down for a
   * weekend, a dead letter waiting for a redrive).
   */
  readonly retention?: number | string;
  /** Default: a tenth of `retention`, at most an hour. */
  readonly expireEvery?: number | string;
}

const day = 86_400_000;
const daysText = /^(\d+(?:\.\d*)?)\s*d$/i;

/** A positive duration that may be days long (`"7d"`), unlike a timer's. */
function parseLongDuration(u: unknown): number | undefined {
  const days = typeof u === 'string' ? daysText.exec(u.trim()) : null;
  const ms = days === null ? parseDuration(u) : Number(days[1]) * day;
  return ms !== undefined && ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

const LongDuration = scalarCodec(
  'positive duration (ms, or "90s", "36h", "7d")',
  (u): u is number => typeof u === 'number' && u > 0 && Number.isFinite(u),
  parseLongDuration,
);

const InboxConfigCodec = strictStruct('InboxConfig', {
  schema: withDefault(SqlIdentifier, 'public'),
  table: withDefault(SqlIdentifier, 'ergon_inbox'),
  retention: withDefault(LongDuration, 7 * day),
  expireEvery: withDefault(LongDuration, 0),
}) as t.Type<InboxConfig, InboxConfig>;

/** SQLSTATE of `undefined_table`. */
const undefinedTable = '42P01';

/** How many rows one expiry statement deletes (short locks on a big backlog). */
const expiryChunk = 10_000;

/**
 * The ids of transactions already processed, in a PostgreSQL table, recorded inside each
 * transaction's database transaction (see `transactional`). An id is kept for `retention`
 * after it was recorded, then deleted by a periodic expiry.
 */
export class Inbox {
  readonly config: InboxConfig;
  private readonly tableName: string;
  private readonly recordText: string;
  private readonly expireText: string;
  private readonly logger = log.getLogger('ergon.inbox');

  /**
   * @param pool where the inbox table is: the database the handlers write to.
   * @throws PolicyError when `input` is not a valid {@link InboxConfigInput}.
   */
  constructor(
    readonly pool: pg.Pool,
    input: InboxConfigInput = {},
  ) {
    const decoded = decodePolicy(InboxConfigCodec, 'inbox config', input);
    this.config = {
      ...decoded,
      expireEvery:
        decoded.expireEvery > 0 ? decoded.expireEvery : Math.min(decoded.retention / 10, 3_600_000),
    };
    this.tableName = `${quoteIdentifier(this.config.schema)}.${quoteIdentifier(this.config.table)}`;
    this.recordText = `INSERT INTO ${this.tableName} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`;
    this.expireText = `DELETE FROM ${this.tableName} WHERE id IN (
  SELECT id FROM ${this.tableName}
  WHERE received_at < clock_timestamp() - $1::float8 * interval '1 millisecond'
  LIMIT ${expiryChunk})`;
  }

  /** Creates the table and its index when missing. */
  async migrate(): Promise<void> {
    const index = quoteIdentifier(`${this.config.table}_received_at`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.tableName} (
  id text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS ${index} ON ${this.tableName} (received_at)`);
  }

  /**
   * Records `id` in the caller's database transaction; resolves `false` when it was there
   * already (committed by an earlier delivery). While another delivery of the same id holds
   * it uncommitted, this waits for that one to commit (then `false`) or roll back (then `true`).
   */
  async record(client: pg.ClientBase, id: string): Promise<boolean> {
    try {
      const result = await client.query({ text: this.recordText, values: [id] });
      return result.rowCount === 1;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== undefinedTable) throw error;
      throw new EffectivelyOnceError(
        `inbox table ${this.tableName} does not exist: call migrate() on the inbox first`,
        { cause: error },
      );
    }
  }

  /** Deletes the ids recorded more than `retention` ago; resolves with how many. */
  async expire(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result = await this.pool.query({
        text: this.expireText,
        values: [this.config.retention],
      });
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < expiryChunk) return deleted;
    }
  }

  /**
   * Runs {@link expire} now and every `expireEvery` on an unref'd timer (it never keeps the
   * process alive); returns the timer for `clearInterval`. A failed expiry is logged at
   * `warn` and tried again next time.
   */
  startExpiry(): NodeJS.Timeout {
    const run = (): void => {
      this.expire().catch((error: unknown) =>
        this.logger.warn(`inbox ${this.tableName}: expiry failed (${describeError(error)})`),
      );
    };
    run();
    const timer = setInterval(run, Math.min(this.config.expireEvery, 2_147_483_647));
    timer.unref();
    return timer;
  }
}

/**
 * An inbox in `pool`'s database: pass it to `transactional(connector, { inbox })` so a
 * redelivered transaction (same id) is skipped instead of processed again.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: 'postgres://app@db/shop', max: 20 });
 * const seen = inbox(pool, { table: 'orders_inbox', retention: '7d' });
 * await seen.migrate();
 * transactional(rabbit, { inbox: seen }).consume({ process: (tx, { db }) => save(db, tx) }).subscribe();
 * ```
 * @throws PolicyError when `input` is not a valid {@link InboxConfigInput}.
 */
export function inbox(pool: pg.Pool, input?: InboxConfigInput): Inbox {
  return new Inbox(pool, input);
}
