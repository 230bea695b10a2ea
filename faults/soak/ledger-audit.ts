import pg from 'pg';

/** What a PostgreSQL queue table holds after the soak. */
export interface LedgerAudit {
  /** Rows in the table (one per id at most: `id` is its primary key). */
  readonly rows: number;
  /** Ids 1…count without a row: transactions lost. */
  readonly missing: number;
  /** Rows whose id is not one of 1…count (must be 0). */
  readonly strangers: number;
}

/**
 * Checks that `table` holds a row for every id 1…`count` (as text), and nothing else, in one
 * statement on its own connection.
 */
export async function auditLedger(url: string, table: string, count: number): Promise<LedgerAudit> {
  const client = new pg.Client({ connectionString: url, application_name: 'ergon soak audit' });
  await client.connect();
  try {
    const ledger = pg.escapeIdentifier(table);
    const { rows } = await client.query<{ rows: string; missing: string; strangers: string }>({
      text: `
        SELECT
          (SELECT count(*) FROM ${ledger}) AS rows,
          (SELECT count(*) FROM generate_series(1, $1::bigint) AS n
            WHERE NOT EXISTS (SELECT 1 FROM ${ledger} AS row WHERE row.id = n::text)) AS missing,
          (SELECT count(*) FROM ${ledger}
            WHERE CASE WHEN id ~ '^[1-9][0-9]{0,15}$' THEN id::bigint NOT BETWEEN 1 AND $1::bigint
                       ELSE true END) AS strangers`,
      values: [count],
    });
    const [audit] = rows;
    if (audit === undefined) throw new Error('the audit query returned no row');
    return {
      rows: Number(audit.rows),
      missing: Number(audit.missing),
      strangers: Number(audit.strangers),
    };
  } finally {
    await client.end();
  }
}
