/**
 * PostgreSQL connector throughput: consume + ack of N queued rows with a no-op async handler,
 * ergon-rx (PostgresConnector under `consume`) against the raw pg driver doing the same work
 * in the same process: claim a batch with `UPDATE … FOR UPDATE SKIP LOCKED … RETURNING`,
 * decode the JSON payloads, run the handler on each (at most `batch` at once), delete the
 * batch with one statement. Same table layout, same batch size, same pool size. Every contender
 * runs one untimed warm-up round, then `rounds` timed ones (median); the client CPU column is
 * this process's CPU time per message (PostgreSQL's own is not in it).
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json &&
 *        node .bench/connectors/postgres.js [count] [batch]
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`; ERGON_POSTGRES_URL overrides).
 */
import { createTransaction } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
import { ergonConsumeRun } from './ergon-runs.js';
import { onFreshTables, postgresUrl as url, rawClaimRun } from './postgres-runs.js';
import { measureRounds, resultTable, type ConsumeRun } from './rounds.js';

const count = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 100);
const poolSize = 4;
const rounds = 5;

function connector(table: string): PostgresConnector {
  return new PostgresConnector({
    connection: { url, poolSize, applicationName: 'ergon-bench' },
    table,
    fetchWait: 0,
  });
}

async function fill(table: string): Promise<void> {
  const producer = connector(table);
  await producer.migrate();
  for (let start = 0; start < count; start += 5000) {
    const size = Math.min(5000, count - start);
    await producer.dispatch(
      Array.from({ length: size }, (_, i) =>
        createTransaction({ n: start + i, customer: `customer-${(start + i) % 97}`, amount: 12.5 }),
      ),
    );
  }
  // A long-lived queue table has statistics (autovacuum analyzes it); give every run the same.
  await producer.service.pool.query(`ANALYZE public."${table}"`);
  await producer.close();
}

function rawRun(table: string): ConsumeRun {
  return rawClaimRun(
    poolSize,
    (pool) =>
      pool.query<{ id: string; payload: unknown; deliveries: number }>({
        name: 'raw_claim',
        text: `WITH picked AS (
  SELECT id FROM public."${table}" WHERE available_at <= now()
  ORDER BY available_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
UPDATE public."${table}" q
SET deliveries = q.deliveries + 1, lease_owner = $2,
  lease_until = now() + interval '30 seconds', available_at = now() + interval '30 seconds'
FROM picked p WHERE q.id = p.id
RETURNING q.id, q.payload, q.deliveries`,
        values: [batch, 'raw'],
      }),
    (rows) => ({
      name: 'raw_delete',
      text: `DELETE FROM public."${table}" WHERE id = ANY($1::text[]) AND lease_owner = $2`,
      values: [rows.map((row) => row.id), 'raw'],
    }),
  );
}

const onFreshTable = onFreshTables({
  prefix: 'ergon_bench',
  count,
  fill,
  dropped: (table) => [table, `${table}_dead`],
});
const rawName = 'raw pg (claim batch, handler, delete batch)';
const results = await measureRounds(
  {
    [rawName]: onFreshTable(rawRun),
    'ergon-rx consume (batch)': onFreshTable((table) =>
      ergonConsumeRun(connector(table), 'batch', batch),
    ),
    'ergon-rx consume (continuous)': onFreshTable((table) =>
      ergonConsumeRun(connector(table), 'continuous', batch),
    ),
  },
  { count, rounds, warmUp: true, pick: 'median' },
);
console.log(
  `${count} rows, batch/concurrency ${batch}, pool ${poolSize}, no-op async handler, median of ${rounds} after a warm-up round`,
);
console.log(resultTable(results, rawName));
