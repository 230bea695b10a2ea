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

interface Run {
  readonly consume: () => Promise<number>;
  readonly close: () => Promise<void>;
}

function ergonRun(mode: LoopMode): Run {
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

function rawRun(): Run {
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

const rawName = 'raw pg (claim batch, handler, fenced update batch)';
const contenders: Record<string, () => Run> = {
  [rawName]: rawRun,
  'ergon-rx PostgresTableConnector (batch)': () => ergonRun('batch'),
  'ergon-rx PostgresTableConnector (continuous)': () => ergonRun('continuous'),
};

interface Measurement {
  readonly rate: number;
  readonly cpu: number;
}

async function measure(contender: () => Run): Promise<Measurement> {
  table = `ergon_table_bench_${process.pid}_${++tables}`;
  await fill();
  const run = contender();
  try {
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const done = await run.consume();
    const { user, system } = process.cpuUsage(cpuBefore);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (done !== count) throw new Error(`processed ${done} of ${count}`);
    return { rate: count / seconds, cpu: (user + system) / count };
  } finally {
    await run.close();
    await admin(`DROP TABLE IF EXISTS public."${table}"`);
  }
}

for (const run of Object.values(contenders)) await measure(run);
const results = new Map<string, Measurement[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    results.set(name, [...(results.get(name) ?? []), await measure(run)]);
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const rates = (name: string): number[] => (results.get(name) ?? []).map((m) => m.rate);
const raw = median(rates(rawName));
console.log(
  `${count} rows, batch/concurrency ${batch}, pool ${poolSize}, no-op async handler, median of ${rounds} after a warm-up round`,
);
console.log('| contender | rows/s | × raw pg | client CPU µs/row |');
console.log('|---|---:|---:|---:|');
for (const [name, measurements] of results) {
  const value = median(rates(name));
  const cpu = median(measurements.map((m) => m.cpu));
  console.log(
    `| ${name} | ${Math.round(value).toLocaleString('en-US')} | ${(value / raw).toFixed(2)} | ${cpu.toFixed(1)} |`,
  );
}
