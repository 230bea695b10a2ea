import type pg from 'pg';
import { quoteIdentifier } from '../sql-identifier.js';
import { prepared } from './queue-statements.js';
import type { PostgresTableConfig, TableSettlement } from '../postgres-table-config.js';

/** A claimed row's fence: the values its claim wrote, which a settlement must still find. */
export interface TableClaimToken {
  /** The row's id as the driver returned it (bound back as it is). */
  readonly id: unknown;
  /** The lease the claim (or its last renewal) wrote; renewals move it. */
  lease: Date;
  /** The lock token (a lock claim), else `null`. */
  readonly lock: string | null;
}

/** The columns of the user's table, as the catalog describes them. */
export interface TableShape {
  /** Column name → SQL type (`format_type`, safe to splice). */
  readonly columns: ReadonlyMap<string, string>;
}

/** The statement that describes a table: its columns and their types (empty: no such table). */
export function describeTable(schema: string, table: string): pg.QueryConfig {
  return {
    text: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    values: [`${quoteIdentifier(schema)}.${quoteIdentifier(table)}`],
  };
}

/** How many `$n` parameters a statement of the user's uses (the highest n). */
function parameterCount(sql: string): number {
  let highest = 0;
  for (const match of sql.matchAll(/\$(\d+)/g)) highest = Math.max(highest, Number(match[1]));
  return highest;
}

/**
 * The SQL of a table connector. Every identifier is quoted, every value bound as a parameter;
 * only the `where`, `fetchQuery` and `sql` settlements you configured are spliced in as SQL.
 * Each claim writes a fence (the lease, and the lock token of a lock claim) that settlements,
 * renewals and releases must still find, so a row whose claim expired and was taken by
 * another worker is never settled by the first one.
 */
export class TableStatements {
  readonly target: string;
  private readonly id: string;
  private readonly lease: string;
  private readonly idArray: string;
  private readonly fence: string;
  /** The fenced rows of a statement: `$1` ids, `$2` leases, `$3` lock tokens, `$4` error messages. */
  private readonly tokens: string;

  constructor(
    private readonly config: PostgresTableConfig<unknown>,
    shape: TableShape,
  ) {
    const { claim } = config;
    this.target = `${quoteIdentifier(config.schema)}.${quoteIdentifier(config.table)}`;
    this.id = quoteIdentifier(config.idColumn);
    this.lease = quoteIdentifier(claim.leaseColumn);
    this.idArray = `${shape.columns.get(config.idColumn) ?? 'text'}[]`;
    const lockFence =
      claim.type === 'lock' ? ` AND t.${quoteIdentifier(claim.lockColumn)} = h.lock` : '';
    this.fence = `t.${this.id} = h.id AND t.${this.lease} = h.lease${lockFence}`;
    this.tokens = `unnest($1::${this.idArray}, $2::timestamptz[], $3::text[], $4::text[]) AS h(id, lease, lock, error)`;
  }

  /**
   * Claims up to `size` rows in `orderBy` order: `FOR UPDATE SKIP LOCKED`, so concurrent
   * claims never pick the same row; the lease is cut to the millisecond (what a JS `Date`
   * holds), so it comes back exactly as the fence. Not a named (prepared) statement: it
   * returns the table's columns, and a prepared one would fail on every pooled connection
   * after an `ALTER TABLE` ("cached plan must not change result type").
   */
  claim(size: number, leaseMs: number, lock: string): pg.QueryConfig {
    const { claim } = this.config;
    const lease = `date_trunc('milliseconds', clock_timestamp()) + $2 * interval '1 millisecond'`;
    const set =
      claim.type === 'status'
        ? `${quoteIdentifier(claim.statusColumn)} = $4, ${this.lease} = ${lease}`
        : `${quoteIdentifier(claim.lockColumn)} = $3, ${this.lease} = ${lease}`;
    const values =
      claim.type === 'status' ? [size, leaseMs, claim.ready, claim.claimed] : [size, leaseMs, lock];
    return {
      text: `WITH picked AS (
  SELECT t.${this.id} FROM ${this.target} AS t
  WHERE ${this.claimable(3)}
  ORDER BY ${this.config.orderBy.map((column) => `t.${quoteIdentifier(column)}`).join(', ')}
  LIMIT $1 FOR UPDATE OF t SKIP LOCKED
), claimed AS (
  UPDATE ${this.target} AS t SET ${set}
  FROM picked WHERE t.${this.id} = picked.${this.id}
  RETURNING t.*
)
SELECT * FROM claimed ORDER BY ${this.config.orderBy.map(quoteIdentifier).join(', ')}`,
      values,
    };
  }

  /** Rows waiting to be claimed now. */
  count(): pg.QueryConfig {
    const { claim } = this.config;
    return {
      ...prepared(
        `SELECT count(*)::int AS count FROM ${this.target} AS t WHERE ${this.claimable(1)}`,
      ),
      values: claim.type === 'status' ? [claim.ready, claim.claimed] : [],
    };
  }

  /** Extends the leases still fenced as given; returns the ids (text) it extended and their new lease. */
  renew(tokens: readonly TableClaimToken[], leaseMs: number): pg.QueryConfig {
    return {
      ...prepared(`UPDATE ${this.target} AS t
SET ${this.lease} = date_trunc('milliseconds', clock_timestamp()) + $5 * interval '1 millisecond'
FROM ${this.tokens} WHERE ${this.fence}
RETURNING t.${this.id}::text AS id, t.${this.lease} AS lease`),
      values: [...this.tokenArrays(tokens, []), leaseMs],
    };
  }

  /** Frees the rows still fenced as given (status back to ready, or lock cleared); returns their ids. */
  release(tokens: readonly TableClaimToken[]): pg.QueryConfig {
    const { claim } = this.config;
    const values = this.tokenArrays(tokens, []);
    let set: string;
    if (claim.type === 'status') {
      values.push(claim.ready);
      set = `${quoteIdentifier(claim.statusColumn)} = $5, ${this.lease} = NULL`;
    } else {
      set = `${quoteIdentifier(claim.lockColumn)} = NULL, ${this.lease} = NULL`;
    }
    return {
      ...prepared(`UPDATE ${this.target} AS t SET ${set}
FROM ${this.tokens} WHERE ${this.fence}
RETURNING t.${this.id}::text AS id`),
      values,
    };
  }

  /**
   * Settles the rows still fenced as given by `delete` or `update` (`errors[i]` the message
   * of row i, for an `errorColumn`); returns their ids.
   */
  settle(
    settlement: Exclude<TableSettlement, { type: 'sql' }>,
    tokens: readonly TableClaimToken[],
    errors: readonly (string | null)[],
  ): pg.QueryConfig {
    const values = this.tokenArrays(tokens, errors);
    if (settlement.type === 'delete') {
      return {
        ...prepared(`DELETE FROM ${this.target} AS t USING ${this.tokens} WHERE ${this.fence}
RETURNING t.${this.id}::text AS id`),
        values,
      };
    }
    const { claim } = this.config;
    const assignments: string[] = [];
    for (const [column, value] of Object.entries(settlement.set)) {
      values.push(value);
      assignments.push(`${quoteIdentifier(column)} = $${values.length}`);
    }
    if (settlement.errorColumn !== null) {
      assignments.push(`${quoteIdentifier(settlement.errorColumn)} = h.error`);
    }
    const written = new Set([...Object.keys(settlement.set), settlement.errorColumn]);
    if (!written.has(claim.leaseColumn)) assignments.push(`${this.lease} = NULL`);
    if (claim.type === 'lock' && !written.has(claim.lockColumn)) {
      assignments.push(`${quoteIdentifier(claim.lockColumn)} = NULL`);
    }
    return {
      ...prepared(`UPDATE ${this.target} AS t SET ${assignments.join(', ')}
FROM ${this.tokens} WHERE ${this.fence}
RETURNING t.${this.id}::text AS id`),
      values,
    };
  }

  /** Locks the row if still fenced as given (inside the transaction of an `sql` settlement). */
  lockFenced(token: TableClaimToken): pg.QueryConfig {
    return {
      ...prepared(
        `SELECT 1 FROM ${this.target} AS t, ${this.tokens} WHERE ${this.fence} FOR UPDATE OF t`,
      ),
      values: this.tokenArrays([token], []),
    };
  }

  /** Your `sql` settlement with `$1` the id and `$2` the error message (as many as it uses). */
  userSettlement(sql: string, id: unknown, error: string | null): pg.QueryConfig {
    return { text: sql, values: [id, error].slice(0, parameterCount(sql)) };
  }

  /** After an `sql` settlement: the lease (and lock) of the row, if still there, are cleared. */
  clearClaim(token: TableClaimToken): pg.QueryConfig {
    const { claim } = this.config;
    const clear =
      claim.type === 'lock'
        ? `${quoteIdentifier(claim.lockColumn)} = NULL, ${this.lease} = NULL`
        : `${this.lease} = NULL`;
    return {
      ...prepared(
        `UPDATE ${this.target} AS t SET ${clear} FROM ${this.tokens} WHERE ${this.fence}`,
      ),
      values: this.tokenArrays([token], []),
    };
  }

  /**
   * Inserts rows from JSON objects (`json_populate_recordset`, so PostgreSQL converts each
   * value to its column's type); `columns` are their keys, checked against the table before.
   */
  insert(
    columns: readonly string[],
    rows: readonly Readonly<Record<string, unknown>>[],
  ): pg.QueryConfig {
    const list = columns.map(quoteIdentifier).join(', ');
    return {
      text: `INSERT INTO ${this.target} (${list})
SELECT ${list} FROM json_populate_recordset(NULL::${this.target}, $1::json)`,
      values: [JSON.stringify(rows)],
    };
  }

  /**
   * Which rows may be claimed: ready (or claimed under an expired lease), and within `where`
   * and `fetchQuery`. A status claim binds ready and claimed as `$first` and `$first + 1`.
   */
  private claimable(first: number): string {
    const { claim, where, fetchQuery } = this.config;
    const expired = `(t.${this.lease} IS NULL OR t.${this.lease} < now())`;
    let free: string;
    if (claim.type === 'status') {
      const status = `t.${quoteIdentifier(claim.statusColumn)}`;
      free = `(${status} = $${first} OR (${status} = $${first + 1} AND ${expired}))`;
    } else {
      free = `(t.${quoteIdentifier(claim.lockColumn)} IS NULL OR ${expired})`;
    }
    const filters = [free];
    if (where !== null) filters.push(`(${where})`);
    if (fetchQuery !== null) {
      filters.push(`t.${this.id} IN (SELECT q.${this.id} FROM (${fetchQuery}) AS q)`);
    }
    return filters.join(' AND ');
  }

  private tokenArrays(
    tokens: readonly TableClaimToken[],
    errors: readonly (string | null)[],
  ): unknown[] {
    return [
      tokens.map((token) => token.id),
      tokens.map((token) => token.lease),
      tokens.map((token) => token.lock),
      tokens.map((_, index) => errors[index] ?? null),
    ];
  }
}
