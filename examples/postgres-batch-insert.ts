/**
 * Batch handlers: sensor readings written to PostgreSQL with one multi-row INSERT per batch
 * instead of one INSERT per reading. Three readings break the table's CHECK constraint, so
 * the INSERT of their batch fails as a whole: the batch is retried, then split in halves
 * until the bad readings are alone; only they reach `onException`, every other reading is
 * written. Each reading still gets its own outcome and settlement.
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`, trust auth).
 * Run: npx tsx examples/postgres-batch-insert.ts [readings]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type BatchItemResult,
  type Transaction,
} from '../lib/index.js';

interface Reading {
  readonly sensor: string;
  readonly celsius: number;
}

const count = Number(process.argv[2] ?? 2000);
const table = `readings_${randomBytes(4).toString('hex')}`;
const pool = new pg.Pool({ host: '127.0.0.1', database: 'test', user: 'postgres', max: 4 });
await pool.query(`CREATE TABLE ${table} (
  id text PRIMARY KEY,
  sensor text NOT NULL,
  celsius real NOT NULL CHECK (celsius BETWEEN -90 AND 60)
)`);

// Readings 100, 777 and 1500 are impossible temperatures.
const broken = new Set([100, 777, 1500]);
const connector = new MemoryConnector<Reading>({
  source: Array.from({ length: count }, (_, n) => ({
    sensor: `s${n % 16}`,
    celsius: broken.has(n) ? 999 : 15 + (n % 10),
  })),
});

let calls = 0;
const rejected: string[] = [];

const task = consumerTask({
  name: 'store-readings',
  processBatch: async (txs: readonly Transaction<Reading>[], { signal }) => {
    calls++;
    signal.throwIfAborted();
    // One statement for the whole batch: arrays of columns, unnested into rows.
    await pool.query(
      `INSERT INTO ${table} (id, sensor, celsius)
       SELECT * FROM unnest($1::text[], $2::text[], $3::real[])
       ON CONFLICT (id) DO NOTHING`,
      [
        txs.map((tx) => tx.id),
        txs.map((tx) => tx.payload.sensor),
        txs.map((tx) => tx.payload.celsius),
      ],
    );
    return txs.map((): BatchItemResult<void> => ({ ok: true }));
  },
  onException: (tx: Transaction<Reading>) => {
    rejected.push(`${tx.id} (${tx.payload.celsius} °C)`);
  },
});

consume(connector, task, {
  loop: { mode: 'continuous', concurrency: { value: 400 } },
  process: { batch: { size: 200, maxWait: '10ms' }, retry: { maxAttempts: 2, backoff: '10ms' } },
}).subscribe({
  complete: () => {
    void (async () => {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      console.log(`${rows[0]?.n} of ${count} readings written in ${calls} INSERT statements`);
      console.log(`rejected: ${rejected.join(', ')}`);
      console.log('settlements:', connector.counts);
      await pool.query(`DROP TABLE ${table}`);
      await pool.end();
    })();
  },
});
