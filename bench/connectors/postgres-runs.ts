/**
 * What the PostgreSQL scripts share (postgres.ts: the connector's queue table; postgres-table.ts:
 * a user's table): the server, one-off admin statements, the raw driver's claim loop, and the
 * fresh table every run gets (so no run pays for the dead rows of the one before).
 */
import pg from 'pg';
import { consumeContender, type ConsumeRun, type Contender } from './rounds.js';

export const postgresUrl =
  process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one statement on a connection of its own. */
export async function admin(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

/**
 * The raw pg run, on a pool of `poolSize`: `claim` a batch (one query), run the no-op async handler on
 * every row at once, end the batch with the one statement `finish` makes of its rows; until a
 * claim comes back empty.
 */
export function rawClaimRun<R extends pg.QueryResultRow>(
  poolSize: number,
  claim: (pool: pg.Pool) => Promise<pg.QueryResult<R>>,
  finish: (rows: R[]) => pg.QueryConfig,
): ConsumeRun {
  const pool = new pg.Pool({
    connectionString: postgresUrl,
    max: poolSize,
    application_name: 'raw-bench',
  });
  const handler = async (): Promise<void> => {};
  return {
    consume: async () => {
      let done = 0;
      for (;;) {
        const { rows } = await claim(pool);
        if (rows.length === 0) break;
        await Promise.all(rows.map(() => handler()));
        await pool.query(finish(rows));
        done += rows.length;
      }
      return done;
    },
    close: () => pool.end(),
  };
}

export interface FreshTables {
  /** Table names are `<prefix>_<pid>_<n>`. */
  readonly prefix: string;
  /** Rows every run consumes. */
  readonly count: number;
  /** Makes and fills the table (untimed). */
  readonly fill: (table: string) => Promise<void>;
  /** The tables to drop after a run (the table and what the connector made beside it). */
  readonly dropped: (table: string) => readonly string[];
}

/** A contender for each `open`: every run on a fresh table, filled first, dropped afterwards. */
export function onFreshTables({
  prefix,
  count,
  fill,
  dropped,
}: FreshTables): (open: (table: string) => ConsumeRun) => Contender {
  let tables = 0;
  return (open) => {
    let table = '';
    const setUp = async (): Promise<ConsumeRun> => {
      table = `${prefix}_${process.pid}_${++tables}`;
      await fill(table);
      return open(table);
    };
    const drop = (): Promise<void> =>
      admin(
        `DROP TABLE IF EXISTS ${dropped(table)
          .map((name) => `public."${name}"`)
          .join(', ')}`,
      );
    return consumeContender(setUp, count, drop);
  };
}
