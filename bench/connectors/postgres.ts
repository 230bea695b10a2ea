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
import pg from 'pg';
import { consume, consumerTask, createTransaction, type LoopMode } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
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
/** Every run gets a fresh table, so no run pays for the dead rows of the one before. */
let table = '';
let tables = 0;
const noop = async (): Promise<void> => {};

function connector(): PostgresConnector {
  return new PostgresConnector({
    connection: { url, poolSize, applicationName: 'ergon-bench' },
    table,
    fetchWait: 0,
  });
}

async function fill(): Promise<void> {
  const producer = connector();
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

function ergonRun(mode: LoopMode): ConsumeRun {
  const source = connector();
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
  };
  const remove = {
    name: 'raw_delete',
    text: `DELETE FROM public."${table}" WHERE id = ANY($1::text[]) AND lease_owner = $2`,
  };
  return {
    consume: async () => {
      let done = 0;
      for (;;) {
        const { rows } = await pool.query<{ id: string; payload: unknown; deliveries: number }>({
          ...claim,
          values: [batch, 'raw'],
        });
        if (rows.length === 0) break;
        await Promise.all(rows.map(() => noop()));
        await pool.query({ ...remove, values: [rows.map((row) => row.id), 'raw'] });
        done += rows.length;
      }
      return done;
    },
    close: () => pool.end(),
  };
}

async function dropTable(): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS public."${table}", public."${table}_dead"`);
  await admin.end();
}

/** A contender run on a fresh, filled table, dropped afterwards. */
function onFreshTable(open: () => ConsumeRun): Contender {
  const setUp = async (): Promise<ConsumeRun> => {
    table = `ergon_bench_${process.pid}_${++tables}`;
    await fill();
    return open();
  };
  return consumeContender(setUp, count, dropTable);
}

const rawName = 'raw pg (claim batch, handler, delete batch)';
const results = await measureRounds(
  {
    [rawName]: onFreshTable(rawRun),
    'ergon-rx consume (batch)': onFreshTable(() => ergonRun('batch')),
    'ergon-rx consume (continuous)': onFreshTable(() => ergonRun('continuous')),
  },
  { count, rounds, warmUp: true, pick: 'median' },
);
console.log(
  `${count} rows, batch/concurrency ${batch}, pool ${poolSize}, no-op async handler, median of ${rounds} after a warm-up round`,
);
console.log(resultTable(results, rawName));
