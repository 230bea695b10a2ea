/**
 * PostgreSQL table mode throughput: consume + ack of N rows of a user-owned table (status
 * claim), ergon-rx (PostgresTableConnector under `consume`, a no-op async handler) against
 * the raw pg driver doing the same work in the same process: claim a batch with `UPDATE …
 * FOR UPDATE SKIP LOCKED … RETURNING *` (status → processing, lease set), run the handler on
 * each row (at most `batch` at once), mark the batch done with one UPDATE fenced by the lease.
 * Same table, batch size and pool size; one untimed warm-up round, then `rounds` timed ones
 * (median); the client CPU column is this process's CPU time per row.
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json &&
 *        node .bench/connectors/postgres-table.js [count] [batch]
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`; ERGON_POSTGRES_URL overrides).
 */
import type { LoopMode } from 'ergon-rx';
import { PostgresTableConnector } from 'ergon-rx/postgres';
import { ergonConsumeRun } from './ergon-runs.js';
import { admin, onFreshTables, postgresUrl as url, rawClaimRun } from './postgres-runs.js';
import { measureRounds, resultTable, type ConsumeRun } from './rounds.js';

const count = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 100);
const poolSize = 4;
const rounds = 5;

async function fill(table: string): Promise<void> {
  await admin(`CREATE TABLE public."${table}" (
  id bigint PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
  status text NOT NULL DEFAULT 'pending', claimed_until timestamptz)`);
  await admin(
    `INSERT INTO public."${table}" (id, customer, amount)
SELECT n, 'customer-' || (n % 97), 12.5 FROM generate_series(1, $1) n`,
    [count],
  );
  await admin(`CREATE INDEX ON public."${table}" (status)`);
  await admin(`ANALYZE public."${table}"`);
}

function ergonRun(table: string, mode: LoopMode): ConsumeRun {
  const source = new PostgresTableConnector({
    connection: { url, poolSize, applicationName: 'ergon-bench' },
    table,
    claim: { statusColumn: 'status', leaseColumn: 'claimed_until' },
  });
  return ergonConsumeRun(source, mode, batch);
}

function rawRun(table: string): ConsumeRun {
  return rawClaimRun(
    poolSize,
    (pool) =>
      pool.query<{ id: string; claimed_until: Date }>({
        name: 'raw_table_claim',
        text: `WITH picked AS (
  SELECT id FROM public."${table}"
  WHERE status = 'pending' OR (status = 'processing' AND claimed_until < now())
  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE public."${table}" t SET status = 'processing',
    claimed_until = date_trunc('milliseconds', clock_timestamp()) + interval '30 seconds'
  FROM picked WHERE t.id = picked.id RETURNING t.*
)
SELECT * FROM claimed ORDER BY id`,
        values: [batch],
      }),
    (rows) => ({
      name: 'raw_table_done',
      text: `UPDATE public."${table}" t SET status = 'done', claimed_until = NULL
FROM unnest($1::bigint[], $2::timestamptz[]) AS h(id, lease)
WHERE t.id = h.id AND t.claimed_until = h.lease`,
      values: [rows.map((row) => row.id), rows.map((row) => row.claimed_until)],
    }),
  );
}

const onFreshTable = onFreshTables({
  prefix: 'ergon_table_bench',
  count,
  fill,
  dropped: (table) => [table],
});
const rawName = 'raw pg (claim batch, handler, fenced update batch)';
const results = await measureRounds(
  {
    [rawName]: onFreshTable(rawRun),
    'ergon-rx PostgresTableConnector (batch)': onFreshTable((table) => ergonRun(table, 'batch')),
    'ergon-rx PostgresTableConnector (continuous)': onFreshTable((table) =>
      ergonRun(table, 'continuous'),
    ),
  },
  { count, rounds, warmUp: true, pick: 'median' },
);
console.log(
  `${count} rows, batch/concurrency ${batch}, pool ${poolSize}, no-op async handler, median of ${rounds} after a warm-up round`,
);
console.log(resultTable(results, rawName, 'rows'));
