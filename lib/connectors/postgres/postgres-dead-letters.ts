import {
  deadLetterQuery,
  redriveOfKey,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from '../../core/dead-letters.js';
import { isPlainObject } from '../../policy/codecs/structures.js';
import { PayloadColumn } from './internal/queue-row.js';
import type { PostgresConnectorConfig } from './postgres-connector-config.js';
import type { PostgresService } from './postgres-service.js';
import { quoteIdentifier } from './sql-identifier.js';

/** A row of the dead table as the statements below return it. */
interface DeadRow {
  readonly dead_id: string;
  readonly id: string;
  readonly payload: string | Buffer;
  readonly headers: unknown;
  readonly deliveries: number;
  readonly reason: string;
  readonly error: string;
  readonly category: string | null;
  readonly stage: string | null;
  readonly dead_at: Date;
}

/**
 * The dead table of a {@link PostgresConnector}'s queue (`<table>_dead`) as
 * {@link DeadLetters}. `redrive` runs in one database transaction: it locks the selected
 * dead rows `FOR UPDATE SKIP LOCKED` (a concurrent redrive skips them, and finds them gone
 * once this one committed), inserts each id's most recent dead row into the queue with its
 * payload, headers (trace context included), key, a delivery count of 0 and
 * `ergon-redrive-of` in its headers, and deletes the dead rows it inserted. An id still
 * queued is skipped and stays dead-lettered.
 *
 * @example
 * ```ts
 * const { redriven } = await connector.deadLetters().redrive({ filter: 'ECONNRESET' });
 * ```
 */
export class PostgresDeadLetters<P> implements DeadLetters<P> {
  private readonly queue: string;
  private readonly dead: string;
  private readonly deadName: string;
  private readonly column: PayloadColumn<P>;
  /** The payload column as read (`payload::text` for `jsonb`), of alias `d`. */
  private readonly payloadOut: string;
  /** The payload as searchable text, of alias `s`. */
  private readonly payloadText: string;

  constructor(
    private readonly service: PostgresService,
    config: PostgresConnectorConfig<P>,
  ) {
    const schema = quoteIdentifier(config.schema);
    this.queue = `${schema}.${quoteIdentifier(config.table)}`;
    this.dead = `${schema}.${quoteIdentifier(config.deadTable)}`;
    this.deadName = `${config.schema}.${config.deadTable}`;
    this.column = new PayloadColumn(config.payloadType, config.codec);
    const jsonb = config.payloadType === 'jsonb';
    this.payloadOut = jsonb ? 'd.payload::text' : 'd.payload';
    this.payloadText = jsonb ? 's.payload::text' : "encode(s.payload, 'escape')";
  }

  async list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]> {
    const { text, values } = this.selection(deadLetterQuery(query));
    const result = await this.service.query<DeadRow>({
      text: `SELECT d.dead_id::text, d.id, ${this.payloadOut} AS payload,
  d.headers, d.deliveries, d.reason, d.error, d.category, d.stage, d.dead_at
FROM ${this.dead} d WHERE d.dead_id IN (${text})
ORDER BY d.dead_at, d.dead_id`,
      values,
    });
    return result.rows.map((row) => this.letter(row));
  }

  async show(id: string): Promise<DeadLetter<P> | undefined> {
    const result = await this.service.query<DeadRow>({
      text: `SELECT d.dead_id::text, d.id, ${this.payloadOut} AS payload,
  d.headers, d.deliveries, d.reason, d.error, d.category, d.stage, d.dead_at
FROM ${this.dead} d WHERE d.id = $1 ORDER BY d.dead_at DESC, d.dead_id DESC LIMIT 1`,
      values: [id],
    });
    const row = result.rows[0];
    return row === undefined ? undefined : this.letter(row);
  }

  async redrive(query?: DeadLetterQuery): Promise<RedriveReport> {
    const { text, values } = this.selection(deadLetterQuery(query));
    return this.service.transaction(async (client) => {
      const locked = await client.query<{ dead_id: string; id: string }>({
        text: `SELECT d.dead_id::text, d.id FROM ${this.dead} d
WHERE d.dead_id IN (${text}) ORDER BY d.dead_at, d.dead_id FOR UPDATE SKIP LOCKED`,
        values,
      });
      if (locked.rows.length === 0) return { redriven: [], skipped: [] };
      // One row per id (its latest dead row); the queue's primary key allows no more.
      const inserted = await client.query<{ id: string }>({
        text: `WITH latest AS (
  SELECT DISTINCT ON (d.id) d.dead_id, d.id, d.payload, d.headers, d.key
  FROM ${this.dead} d WHERE d.dead_id = ANY($1::bigint[])
  ORDER BY d.id, d.dead_at DESC, d.dead_id DESC
), inserted AS (
  INSERT INTO ${this.queue} (id, payload, headers, key)
  SELECT l.id, l.payload,
    l.headers || jsonb_build_object('${redriveOfKey}', $2::text || '#' || l.dead_id::text), l.key
  FROM latest l
  ON CONFLICT (id) DO NOTHING
  RETURNING id
)
DELETE FROM ${this.dead} d USING inserted i WHERE d.id = i.id AND d.dead_id = ANY($1::bigint[])
RETURNING d.id`,
        values: [locked.rows.map((row) => row.dead_id), this.deadName],
      });
      const redriven = [...new Set(inserted.rows.map((row) => row.id))];
      const sent = new Set(redriven);
      const skipped = [...new Set(locked.rows.map((row) => row.id))].filter((id) => !sent.has(id));
      return { redriven, skipped };
    });
  }

  async purge(query?: DeadLetterQuery): Promise<PurgeReport> {
    const { text, values } = this.selection(deadLetterQuery(query));
    const result = await this.service.query<{ id: string }>({
      text: `DELETE FROM ${this.dead} WHERE dead_id IN (${text}) RETURNING id`,
      values,
    });
    return { purged: result.rows.map((row) => row.id) };
  }

  /** The `dead_id`s `query` selects, as a sub-select with its values ($1–$4). */
  private selection(query: DeadLetterQuery): { text: string; values: unknown[] } {
    return {
      text: `SELECT s.dead_id FROM ${this.dead} s
  WHERE ($1::text[] IS NULL OR s.id = ANY($1::text[]))
    AND ($2::timestamptz IS NULL OR s.dead_at >= $2::timestamptz)
    AND ($3::text IS NULL OR strpos(lower(concat_ws(' ', s.id, s.error, s.stage,
      ${this.payloadText})), lower($3::text)) > 0)
  ORDER BY s.dead_at, s.dead_id
  LIMIT $4::bigint`,
      values: [
        query.ids === undefined ? null : [...query.ids],
        query.since ?? null,
        query.filter === undefined || query.filter === '' ? null : query.filter,
        query.limit ?? null,
      ],
    };
  }

  private letter(row: DeadRow): DeadLetter<P> {
    let payload: P;
    try {
      payload = this.column.decode(row.payload);
    } catch {
      payload = row.payload as unknown as P;
    }
    const headers = isPlainObject(row.headers) ? row.headers : {};
    const traceparent = headers['traceparent'];
    return Object.freeze({
      id: row.id,
      payload,
      error: row.error,
      ...(row.stage === null ? {} : { stage: row.stage }),
      ...(row.category === null ? {} : { category: row.category }),
      reason: row.reason === 'deadLetter' ? 'failed' : row.reason,
      deadLetteredAt: row.dead_at,
      deliveryCount: row.deliveries,
      ...(typeof traceparent === 'string' ? { traceparent } : {}),
      location: `${this.deadName}#${row.dead_id}`,
    });
  }
}
