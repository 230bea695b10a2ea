import { createHash } from 'node:crypto';
import pg from 'pg';
import { PostgresQueueError } from '../errors.js';
import type { PostgresConnectorConfig } from '../postgres-connector-config.js';
import type { PostgresService } from '../postgres-service.js';
import { MAX_IDENTIFIER_BYTES, quoteIdentifier } from '../sql-identifier.js';

/** `text` as a named statement, so each pooled connection parses and plans it only once. */
export function prepared(text: string): { readonly name: string; readonly text: string } {
  const digest = createHash('sha1').update(text).digest('hex').slice(0, 20);
  return Object.freeze({ name: `ergon_${digest}`, text });
}

/**
 * The columns of a {@link QueueRow}. `created_at` comes as whole milliseconds since the epoch:
 * a number is far cheaper for the driver to read than a timestamp it parses into a `Date`. It
 * is computed in `float8` (`extract` would compute in `numeric`, about 0.5 µs more per row):
 * rounding the epoch to whole microseconds first makes it exact for any time before 2100
 * (`floor(date_part(…) * 1000)` alone falls a millisecond short now and then). Empty headers
 * come as `NULL`, which the driver need not parse as JSON. `key` is `NULL` for a row without one.
 */
function rowColumns(alias: string, payload: string): string {
  return `${alias}.id, ${alias}.${payload} AS payload, NULLIF(${alias}.headers, '{}'::jsonb) AS headers,
  ${alias}.deliveries, ${alias}.key,
  floor(round(date_part('epoch', ${alias}.created_at) * 1000000) / 1000) AS enqueued_at`;
}

/** A statement ready for `pool.query`: prepared text plus its values. */
type Statement = pg.QueryConfig<unknown[]>;

/** The leases a settle, renewal or release statement applies to. */
export interface LeaseKeys {
  /** Row ids. */
  readonly ids: readonly string[];
  /** The distinct delivery counts the rows had when claimed (usually just `[1]`). */
  readonly counts: readonly number[];
  /** Each row's delivery count when claimed, in the order of `ids`. */
  readonly deliveries: readonly number[];
}

/** Why rows go to the dead table: one entry per row of {@link LeaseKeys}. */
export interface DeadLetterReasons {
  readonly errors: readonly string[];
  readonly categories: readonly (string | null)[];
  readonly stages: readonly (string | null)[];
}

/**
 * Every SQL statement of one queue table, built once from its config. Settle-type statements
 * are guarded by the lease (`lease_owner` and the delivery count the row had when claimed):
 * a row another consumer re-claimed after the lease expired is left alone and missing from
 * the `RETURNING` list of `(id, deliveries)` pairs.
 */
export class QueueStatements {
  /** `"schema"."table"`. */
  readonly queue: string;
  /** `"schema"."dead_table"`. */
  readonly dead: string;
  private readonly claimText: ReturnType<typeof prepared>;
  private readonly buryText: ReturnType<typeof prepared>;
  private readonly ackText: ReturnType<typeof prepared>;
  private readonly releaseText: ReturnType<typeof prepared>;
  private readonly releaseNowText: ReturnType<typeof prepared>;
  private readonly unclaimText: ReturnType<typeof prepared>;
  private readonly renewText: ReturnType<typeof prepared>;
  private readonly deadLetterText: ReturnType<typeof prepared>;
  private readonly insertText: ReturnType<typeof prepared>;
  private readonly insertKeyedText: ReturnType<typeof prepared>;
  private readonly insertScheduledText: ReturnType<typeof prepared>;
  private readonly countText: ReturnType<typeof prepared>;
  private readonly byIdText: ReturnType<typeof prepared>;

  constructor(private readonly config: PostgresConnectorConfig) {
    const schema = quoteIdentifier(config.schema);
    const queue = `${schema}.${quoteIdentifier(config.table)}`;
    const dead = `${schema}.${quoteIdentifier(config.deadTable)}`;
    this.queue = queue;
    this.dead = dead;
    const payloadOut = config.payloadType === 'jsonb' ? 'payload::text' : 'payload';
    // Leases and delays start at the moment the statement writes them (`clock_timestamp()`),
    // not at the start of its transaction (`now()`): a claim that waited behind a lock longer
    // than the lease would otherwise hand out rows whose lease had already expired, and a
    // second worker would claim them again while the first runs them. Where `now()` is read
    // (which rows are available, which leases are live) the earlier instant only errs on the
    // side of not claiming.
    const leaseFor = (ms: string): string =>
      `clock_timestamp() + ${ms}::float8 * interval '1 millisecond'`;
    // The lease guard: still leased to this connector, for a delivery this batch settles. A
    // filter, not a join with unnest(): the planner then always finds the rows through the
    // primary key (a join made it scan the whole table, statistics or not), and the cost stays
    // linear in the batch. It cannot tell apart two leases of one row that this same
    // connector holds at once (its own lease expired without renewal and it claimed the row
    // again) when both are settled in one batch; at worst such a row is processed once more.
    const guard = `q.id = ANY($1::text[]) AND q.lease_owner = $3
  AND q.deliveries = ANY($2::int[])`;
    const notify = `CROSS JOIN (SELECT pg_notify($5, '')) n`;
    // A statement that deletes the head of a key makes the next row of that key claimable, so
    // it wakes waiting fetches like an INSERT does (without it they would sleep until
    // fetchWait). In the RETURNING list of the data-modifying CTE, which always runs to
    // completion: one pg_notify per keyed row, which PostgreSQL folds into one notification
    // per transaction; an unkeyed row costs a null test and sends nothing.
    const wakeKeyed = (channel: string): string =>
      `CASE WHEN q.key IS NOT NULL THEN pg_notify(${channel}, '') END AS woke`;

    // $1 size, $2 owner, $3 lease ms. Poison rows (delivered maxDeliveries times already) are
    // claimed like the others, then buried by the connector: handling them in this statement
    // (a DELETE and an INSERT into the dead table in CTEs) cost every claim about 15 % more
    // server time, for rows that are rare. `id = ANY(ARRAY(…))` keeps the primary key lookup
    // in the generic plan of the prepared statement (joining the picked rows made it hash the
    // whole table).
    //
    // Order per key. A row with a key may be claimed only when it is the head of its key: no
    // row of that key with a lower `seq` is in the table, whatever its state (leased, released
    // with a delay, waiting), so a retry, a release delay or an expired lease keeps the rows
    // behind it waiting; the head leaves the table only by ack, dead letter or burial. The
    // test is an index probe on (key, seq) and runs only for keyed rows: `key IS NULL OR …`
    // stops at the first operand (PostgreSQL evaluates OR left to right and does not plan a
    // NOT EXISTS under OR as an anti-join), so an unkeyed row costs one null test. The probes
    // are not locked: they read the statement's snapshot, and SKIP LOCKED applies to the
    // claimed table's rows only, so a head locked by a concurrent claim still blocks the rows
    // behind it.
    //
    // Why two workers never hold two rows of one key at once. Say rows h (seq 1) and r (seq 2)
    // share a key. A claim hands out r only if its snapshot holds no h, and h leaves the table
    // only through a DELETE (ack, dead letter, bury) that the worker holding h runs after h's
    // lifecycle ended.
    // (1) Two claims at once, before h is claimed: both see h, so neither takes r; one locks
    //     h, the other skips it (SKIP LOCKED).
    // (2) A worker acks h while another claims: if the DELETE committed before the claim's
    //     snapshot, h is done and r may go; if not, the snapshot still holds h, r waits for
    //     the next claim, and the ack's NOTIFY (below) starts that claim at once.
    // (3) A claim that reaches h after a concurrent claim leased it and committed re-checks
    //     h's new version (READ COMMITTED re-evaluates the WHERE of a row it locks that was
    //     updated meanwhile): its available_at is in the future, so h is skipped.
    // What the head test alone misses: rows of one key inserted by two statements at once
    // (a dispatcher sending batches concurrently) take seq numbers in one order and may commit
    // in the other, so a lower seq can appear after a higher one was claimed. The second probe
    // covers that: no other row of the key may be under a live lease (a partial index holds
    // just the leased keyed rows, so it reads only those). It cannot see a row committed
    // after its snapshot: a late lower seq claimed by a concurrent claim in the same instant
    // as this one can still run beside it (docs/connectors/postgres.md says so).
    this.claimText = prepared(`WITH picked AS (
  SELECT id FROM ${queue} c
  WHERE c.available_at <= now()
    AND (c.key IS NULL OR (
      NOT EXISTS (SELECT FROM ${queue} o WHERE o.key = c.key AND o.seq < c.seq)
      AND NOT EXISTS (SELECT FROM ${queue} o
        WHERE o.key = c.key AND o.lease_owner IS NOT NULL AND o.lease_until > now()
          AND o.id <> c.id)))
  ORDER BY c.priority DESC, c.available_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
UPDATE ${queue} q
SET deliveries = q.deliveries + 1, lease_owner = $2,
  lease_until = ${leaseFor('$3')}, available_at = ${leaseFor('$3')}
WHERE q.id = ANY(ARRAY(SELECT id FROM picked))
RETURNING ${rowColumns('q', payloadOut)}`);

    // $4 maxDeliveries, $5 channel. The rows were just claimed, so their count is one over the
    // deliveries they had when the claim found them poison.
    this.buryText = prepared(`WITH buried AS (
  DELETE FROM ${queue} q
  WHERE ${guard}
  RETURNING q.id, q.payload, q.headers, q.key, q.created_at, q.deliveries - 1 AS deliveries,
    ${wakeKeyed('$5')}
)
INSERT INTO ${dead} (id, payload, headers, key, created_at, deliveries, reason, error)
SELECT id, payload, headers, key, created_at, deliveries, 'maxDeliveries',
  'delivered ' || deliveries || ' times, maxDeliveries is ' || $4::int
FROM buried`);

    // Returns the rows it could not delete (no longer leased to this consumer) instead of the
    // ones it deleted: a batch that went through, nearly every batch, sends no rows back. $4
    // is each row's delivery count, $5 the channel. A data-modifying CTE runs to completion
    // whatever the query reads of it.
    this.ackText = prepared(`WITH acked AS (
  DELETE FROM ${queue} q
  WHERE ${guard}
  RETURNING q.id, q.deliveries, ${wakeKeyed('$5')}
)
SELECT k.id FROM unnest($1::text[], $4::int[]) AS k(id, deliveries)
WHERE NOT EXISTS (SELECT FROM acked a WHERE a.id = k.id AND a.deliveries = k.deliveries)`);

    // $4 delay ms; the second form, for rows available at once, also notifies ($5 channel).
    const releaseWith = (wake: string): string => `WITH released AS (
  UPDATE ${queue} q
  SET lease_owner = NULL, lease_until = NULL, available_at = ${leaseFor('$4')}
  WHERE ${guard}
  RETURNING q.id, q.deliveries
)
SELECT r.id, r.deliveries FROM released r ${wake}`;
    this.releaseText = prepared(releaseWith(''));
    this.releaseNowText = prepared(releaseWith(notify));

    // Claimed but never handed out (the fetch was cancelled): undo the claim entirely.
    this.unclaimText = prepared(`WITH unclaimed AS (
  UPDATE ${queue} q
  SET lease_owner = NULL, lease_until = NULL, available_at = clock_timestamp(),
    deliveries = q.deliveries - 1
  WHERE ${guard}
  RETURNING q.id, q.deliveries + 1 AS deliveries
)
SELECT r.id, r.deliveries FROM unclaimed r CROSS JOIN (SELECT pg_notify($4, '')) n`);

    this.renewText = prepared(`UPDATE ${queue} q
SET lease_until = ${leaseFor('$4')}, available_at = ${leaseFor('$4')}
WHERE ${guard}
RETURNING q.id, q.deliveries`);

    // $4–$6 error, category and stage per row, $7 channel.
    this.deadLetterText = prepared(`WITH moved AS (
  DELETE FROM ${queue} q
  WHERE ${guard}
  RETURNING q.id, q.payload, q.headers, q.key, q.created_at, q.deliveries, ${wakeKeyed('$7')}
)
INSERT INTO ${dead} (id, payload, headers, key, created_at, deliveries, reason, error, category, stage)
SELECT m.id, m.payload, m.headers, m.key, m.created_at, m.deliveries, 'deadLetter',
  s.error, s.category, s.stage
FROM moved m
JOIN unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS s(id, error, category, stage)
  ON s.id = m.id
RETURNING id, deliveries`);

    // Only the rows the INSERT skipped (an id already queued) are looked up, so the usual
    // batch of new ids costs no more than a plain INSERT (looking up every given row cost the
    // soak a third of its throughput). The final SELECT sees the table as it was before this
    // statement: the rows it finds are the ones already queued, so a payload that differs is
    // another transaction's id. A batch with keys takes the second form: `seq` (an identity
    // column) must follow the batch's order, so the rows are numbered by unnest `WITH
    // ORDINALITY` and inserted `ORDER BY` that number (the sort is of rows already in order).
    // A batch without keys keeps the first form: its seq numbers order nothing.
    const insertFrom = (given: string, columns: string, order: string): string => `WITH given AS (
  SELECT * FROM ${given}
), inserted AS (
  INSERT INTO ${queue} (${columns})
  SELECT ${columns} FROM given${order}
  ON CONFLICT (id) DO NOTHING
  RETURNING id
), skipped AS MATERIALIZED (
  SELECT g.id, g.payload FROM given g
  WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.id = g.id)
)
SELECT s.id FROM skipped s JOIN ${queue} q ON q.id = s.id
WHERE q.payload IS DISTINCT FROM s.payload`;
    const arrays = `$1::text[], $2::${config.payloadType}[], $3::jsonb[]`;
    this.insertText = prepared(
      insertFrom(`unnest(${arrays}) AS g(id, payload, headers)`, 'id, payload, headers', ''),
    );
    this.insertKeyedText = prepared(
      insertFrom(
        `unnest(${arrays}, $4::text[]) WITH ORDINALITY AS g(id, payload, headers, key, n)`,
        'id, payload, headers, key',
        '\n  ORDER BY n',
      ),
    );

    // A batch with a notBefore or a priority: `$5` each row's notBefore (`NULL`: now), `$6`
    // its priority (`NULL`: 0); numbered like keyed rows, so a key's order holds too.
    this.insertScheduledText = prepared(
      insertFrom(
        `(SELECT u.id, u.payload, u.headers, u.key, COALESCE(u.at, now()) AS available_at,
    COALESCE(u.priority, 0)::smallint AS priority, u.n
  FROM unnest(${arrays}, $4::text[], $5::timestamptz[], $6::int[]) WITH ORDINALITY
    AS u(id, payload, headers, key, at, priority, n)) AS g`,
        'id, payload, headers, key, available_at, priority',
        '\n  ORDER BY n',
      ),
    );

    this.countText = prepared(`SELECT count(*)::int AS count FROM ${queue}
WHERE lease_until IS NULL OR lease_until < now()`);

    this.byIdText = prepared(`SELECT ${rowColumns('q', payloadOut)}
FROM ${queue} q WHERE q.id = $1`);
  }

  /**
   * Claims up to `size` rows for `owner`, poison ones included (their delivery count is then
   * over `maxDeliveries`: {@link bury} them).
   */
  claim(size: number, owner: string): Statement {
    return { ...this.claimText, values: [size, owner, this.config.lease] };
  }

  /** Moves just-claimed poison rows to the dead table (`reason = 'maxDeliveries'`). */
  bury(keys: LeaseKeys, owner: string): Statement {
    const { maxDeliveries, channel } = this.config;
    return { ...this.buryText, values: [keys.ids, keys.counts, owner, maxDeliveries, channel] };
  }

  /**
   * Deletes acknowledged rows; returns the ids of those no longer leased to `owner`. Notifies
   * when a deleted row had a key (the next row of that key is claimable now).
   */
  ack(keys: LeaseKeys, owner: string): Statement {
    const values = [keys.ids, keys.counts, owner, keys.deliveries, this.config.channel];
    return { ...this.ackText, values };
  }

  /** Clears leases, the rows available again after `delay` ms; notifies when that is now. */
  release(keys: LeaseKeys, owner: string, delay: number): Statement {
    const values = [keys.ids, keys.counts, owner, delay];
    return delay === 0
      ? { ...this.releaseNowText, values: [...values, this.config.channel] }
      : { ...this.releaseText, values };
  }

  /** Undoes claims of rows that were never handed out (delivery count back, available now). */
  unclaim(keys: LeaseKeys, owner: string): Statement {
    return { ...this.unclaimText, values: [keys.ids, keys.counts, owner, this.config.channel] };
  }

  /** Extends leases by another `lease`. */
  renew(keys: LeaseKeys, owner: string): Statement {
    return { ...this.renewText, values: [keys.ids, keys.counts, owner, this.config.lease] };
  }

  /**
   * Moves rows to the dead table with their errors and keys, in one statement; notifies like
   * {@link ack}.
   */
  deadLetter(keys: LeaseKeys, owner: string, reasons: DeadLetterReasons): Statement {
    return {
      ...this.deadLetterText,
      values: [
        keys.ids,
        keys.counts,
        owner,
        reasons.errors,
        reasons.categories,
        reasons.stages,
        this.config.channel,
      ],
    };
  }

  /**
   * Inserts rows, in the order given (their `seq`); an id already queued is skipped (`ON
   * CONFLICT (id) DO NOTHING`). `keys` holds each row's key (`null`: none), or is `null` when
   * no row has one. Returns (column `id`) the skipped ids whose queued row holds a different
   * payload.
   */
  insert(
    ids: readonly string[],
    payloads: readonly (string | Buffer)[],
    headers: readonly string[],
    keys: readonly (string | null)[] | null,
    schedule: {
      readonly notBefore: readonly (string | null)[];
      readonly priority: readonly (number | null)[];
    } | null = null,
  ): Statement {
    if (schedule !== null) {
      return {
        ...this.insertScheduledText,
        values: [
          ids,
          payloads,
          headers,
          keys ?? ids.map(() => null),
          schedule.notBefore,
          schedule.priority,
        ],
      };
    }
    return keys === null
      ? { ...this.insertText, values: [ids, payloads, headers] }
      : { ...this.insertKeyedText, values: [ids, payloads, headers, keys] };
  }

  /** Rows not under a live lease. */
  count(): Statement {
    return { ...this.countText, values: [] };
  }

  /** One row by id, without claiming it. */
  byId(id: string): Statement {
    return { ...this.byIdText, values: [id] };
  }
}

/** One advisory lock for every ergon-rx migration, so concurrent migrations run one at a time. */
const migrationLock = 0x6572676f; // "ergo"

/** `<table>_<suffix>`, or a hashed name when that would not fit in an identifier. */
function derivedName(table: string, suffix: string): string {
  const name = `${table}_${suffix}`;
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  return `ergon_${createHash('sha1').update(table).digest('hex').slice(0, 16)}_${suffix}`;
}

/**
 * Creates the queue table, its dead table, their indexes and the NOTIFY trigger when they are
 * missing, in one transaction under an advisory lock: safe to run from every worker at start,
 * at the same time. An existing queue table whose `payload` column has another type than
 * the config says is an error (nothing is altered). A queue or dead table of an earlier
 * version (without `key` and `seq`) gets the missing columns and indexes; existing rows get
 * no key and a `seq` in their physical order (adding the identity column rewrites the table
 * once, under an exclusive lock).
 *
 * Queue table: `id text` primary key (a UUID when an INSERT gives none), `payload`
 * (`jsonb`/`bytea`), `headers jsonb`, `created_at`, `available_at` (when the row may be
 * claimed next), `deliveries`, `lease_owner`, `lease_until`, `key` (the ordering key, or
 * `NULL`) and `seq` (insertion order). Dead table: the same row without `seq`, plus `reason`
 * (`deadLetter` | `maxDeliveries`), `error`, `category`, `stage`, `dead_at`. `priority`
 * (`smallint`, 0–9, default 0: higher is claimed first) is added to a table of an earlier
 * version, with an index on (`priority` descending, `available_at`) for the claim's order.
 */
export async function migrateQueue(
  service: PostgresService,
  config: PostgresConnectorConfig,
): Promise<void> {
  const schema = quoteIdentifier(config.schema);
  const queue = `${schema}.${quoteIdentifier(config.table)}`;
  const dead = `${schema}.${quoteIdentifier(config.deadTable)}`;
  const payload = config.payloadType;
  await service.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLock]);
    const namespace = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      config.schema,
    ]);
    if (namespace.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${queue} (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text CHECK (id <> ''),
  payload ${payload} NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  available_at timestamptz NOT NULL DEFAULT now(),
  deliveries integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz,
  key text,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  priority smallint NOT NULL DEFAULT 0
)`);
    const columns = await columnTypes(client, queue);
    const type = columns.get('payload');
    if (type !== payload) {
      throw new PostgresQueueError(
        `queue table ${queue} has a payload column of type ${type ?? 'none'}, the config says ${payload}`,
      );
    }
    // A table of an earlier version: add what order per key needs. The columns are looked up
    // first because ALTER TABLE takes an exclusive lock even when IF NOT EXISTS then finds
    // the column, and every worker runs this at start.
    await addMissingColumn(client, queue, columns, 'key', 'text', 'text');
    await addMissingColumn(
      client,
      queue,
      columns,
      'seq',
      'bigint',
      'bigint GENERATED ALWAYS AS IDENTITY',
    );
    // Priorities and delays: a constant default, so adding the column rewrites nothing.
    await addMissingColumn(
      client,
      queue,
      columns,
      'priority',
      'smallint',
      'smallint NOT NULL DEFAULT 0',
    );
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.table, 'available_at'))}
ON ${queue} (available_at)`,
    );
    // The claim's order: most urgent first, then the longest available.
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.table, 'priority_available'))}
ON ${queue} (priority DESC, available_at)`,
    );
    // The claim's head test: is there a row of this key with a lower seq? Partial, so rows
    // without a key cost nothing to insert, claim or delete.
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.table, 'key_seq'))}
ON ${queue} (key, seq) WHERE key IS NOT NULL`,
    );
    // The claim's lease test: is a row of this key under a lease? Holds only keyed rows that
    // are (or were, until the lease ran out) claimed.
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.table, 'key_leased'))}
ON ${queue} (key) WHERE key IS NOT NULL AND lease_owner IS NOT NULL`,
    );
    await client.query(`CREATE TABLE IF NOT EXISTS ${dead} (
  dead_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL,
  payload ${payload} NOT NULL,
  headers jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  deliveries integer NOT NULL,
  reason text NOT NULL,
  error text NOT NULL,
  category text,
  stage text,
  dead_at timestamptz NOT NULL DEFAULT now(),
  key text
)`);
    await addMissingColumn(client, dead, await columnTypes(client, dead), 'key', 'text', 'text');
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.deadTable, 'id'))}
ON ${dead} (id)`,
    );
    await client.query(`CREATE OR REPLACE FUNCTION ${schema}.ergon_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END
$$`);
    const trigger = await client.query(
      `SELECT 1 FROM pg_trigger
WHERE tgrelid = $1::regclass AND tgname = 'ergon_notify'
  AND tgargs = convert_to($2, 'UTF8') || '\\x00'::bytea`,
      [queue, config.channel],
    );
    if (trigger.rowCount === 0) {
      await client.query(`DROP TRIGGER IF EXISTS ergon_notify ON ${queue}`);
      await client.query(`CREATE TRIGGER ergon_notify AFTER INSERT ON ${queue}
FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.ergon_notify(${pg.escapeLiteral(config.channel)})`);
    }
  });
}

/** The type of every column of `table`, by name (`format_type`: `text`, `bigint`, `jsonb`). */
async function columnTypes(client: pg.PoolClient, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  return new Map(rows.map((row) => [row.name, row.type]));
}

/**
 * Adds column `name` to `table` when missing (`definition` is its type and options).
 *
 * @throws PostgresQueueError when the table has a column of that name of another type.
 */
async function addMissingColumn(
  client: pg.PoolClient,
  table: string,
  columns: ReadonlyMap<string, string>,
  name: string,
  type: string,
  definition: string,
): Promise<void> {
  const existing = columns.get(name);
  if (existing === undefined) {
    await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${name} ${definition}`);
  } else if (existing !== type) {
    throw new PostgresQueueError(
      `table ${table} has a ${name} column of type ${existing}, ergon-rx needs ${type} there: rename that column, or use another table`,
    );
  }
}
