import { createHash } from 'node:crypto';
import pg from 'pg';
import type { PostgresConnectorConfig } from './postgres-connector-config.js';
import { PostgresQueueError } from './postgres-queue-error.js';
import type { PostgresService } from './postgres-service.js';
import { MAX_IDENTIFIER_BYTES, quoteIdentifier } from './sql-identifier.js';

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
 * the config says is an error (nothing is altered).
 *
 * Queue table: `id text` primary key (a UUID when an INSERT gives none), `payload`
 * (`jsonb`/`bytea`), `headers jsonb`, `created_at`, `available_at` (when the row may be
 * claimed next), `deliveries`, `lease_owner`, `lease_until`. Dead table: the same row plus
 * `reason` (`deadLetter` | `maxDeliveries`), `error`, `category`, `stage`, `dead_at`.
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
  lease_until timestamptz
)`);
    const existing = await client.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid = $1::regclass AND attname = 'payload' AND NOT attisdropped`,
      [queue],
    );
    const type = existing.rows[0]?.type;
    if (type !== payload) {
      throw new PostgresQueueError(
        `queue table ${queue} has a payload column of type ${type ?? 'none'}, the config says ${payload}`,
      );
    }
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(config.table, 'available_at'))}
ON ${queue} (available_at)`,
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
  dead_at timestamptz NOT NULL DEFAULT now()
)`);
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
