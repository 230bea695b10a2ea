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
import pg from 'pg';
import { consume, consumerTask, type LoopMode } from 'ergon-rx';
import { PostgresTableConnector } from 'ergon-rx/postgres';
import { successes } from '../contenders/successes.js';
import {
  consumeContender,
  measureRounds,
  resultTable,
  type ConsumeRun,
  type Contender,
} from './rounds.js';

const url = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const count = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 100);
const poolSize = 4;
const rounds = 5;
let table = '';
let tables = 0;
const noop = async (): Promise<void> => {};

async function admin(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function fill(): Promise<void> {
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

function ergonRun(mode: LoopMode): ConsumeRun {
  const source = new PostgresTableConnector({
    connection: { url, poolSize, applicationName: 'ergon-bench' },
    table,
    claim: { statusColumn: 'status', leaseColumn: 'claimed_until' },
  });
  return {
    consume: () =>
      successes(
        consume(source, consumerTask({ process: noop }), {
          loop: { mode, concurrency: { value: batch } },
          fetch: { batch: { size: batch } },
        }),
      ),
    close: () => source.close(),
  };
}

function rawRun(): ConsumeRun {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'raw-bench' });
  const claim = {
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
  };
  const done = {
    name: 'raw_table_done',
    text: `UPDATE public."${table}" t SET status = 'done', claimed_until = NULL
FROM unnest($1::bigint[], $2::timestamptz[]) AS h(id, lease)
WHERE t.id = h.id AND t.claimed_until = h.lease`,
  };
  return {
    consume: async () => {
      let total = 0;
      for (;;) {
        const { rows } = await pool.query<{ id: string; claimed_until: Date }>({
          ...claim,
          values: [batch],
        });
        if (rows.length === 0) break;
        await Promise.all(rows.map(() => noop()));
        await pool.query({
          ...done,
          values: [rows.map((row) => row.id), rows.map((row) => row.claimed_until)],
        });
        total += rows.length;
      }
      return total;
    },
    close: () => pool.end(),
  };
}

/** A contender run on a fresh, filled table, dropped afterwards. */
function onFreshTable(open: () => ConsumeRun): Contender {
  const setUp = async (): Promise<ConsumeRun> => {
    table = `ergon_table_bench_${process.pid}_${++tables}`;
    await fill();
    return open();
  };
  return consumeContender(setUp, count, () => admin(`DROP TABLE IF EXISTS public."${table}"`));
}

const rawName = 'raw pg (claim batch, handler, fenced update batch)';
const results = await measureRounds(
  {
    [rawName]: onFreshTable(rawRun),
    'ergon-rx PostgresTableConnector (batch)': onFreshTable(() => ergonRun('batch')),
    'ergon-rx PostgresTableConnector (continuous)': onFreshTable(() => ergonRun('continuous')),
  },
  { count, rounds, warmUp: true, pick: 'median' },
);
console.log(
  `${count} rows, batch/concurrency ${batch}, pool ${poolSize}, no-op async handler, median of ${rounds} after a warm-up round`,
);
console.log(resultTable(results, rawName, 'rows'));
