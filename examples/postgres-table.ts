/**
 * Rows of your own table as work: two workers send the open invoices of an `invoices` table
 * (claimed with a status column under a lease, so they never send one twice), mark each one
 * `sent`, and mark the ones that cannot be sent `failed` with the error in the table.
 *
 * Run: npx tsx examples/postgres-table.ts [postgres-url]
 * (default postgres://postgres@127.0.0.1:5432/test; it creates and drops its own table).
 */
import { lastValueFrom, merge, toArray } from 'rxjs';
import { consume, consumerTask, NonRetryableError, type Transaction } from '../lib/index.js';
import { PostgresService, PostgresTableConnector } from '../lib/connectors/postgres/index.js';

const url = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
const table = `invoices_example_${process.pid}`;
const service = new PostgresService({ url, applicationName: 'invoices-example' });

await service.pool.query(`CREATE TABLE "${table}" (
  id int PRIMARY KEY, customer text NOT NULL, email text, amount numeric NOT NULL,
  state text NOT NULL DEFAULT 'open', claimed_until timestamptz, error text, sent_at timestamptz)`);
await service.pool.query(`INSERT INTO "${table}" (id, customer, email, amount) VALUES
  (1, 'Ada', 'ada@example.com', 120), (2, 'Grace', NULL, 80),
  (3, 'Edsger', 'edsger@example.com', 42), (4, 'Barbara', 'barbara@example.com', 7)`);

type Invoice = Readonly<Record<string, unknown>>;

/** One worker: its own connector (in a real deployment, its own process). */
function worker() {
  const invoices = new PostgresTableConnector(
    {
      table,
      claim: {
        statusColumn: 'state',
        leaseColumn: 'claimed_until',
        ready: 'open',
        claimed: 'sending',
      },
      settle: {
        ack: { sql: `UPDATE "${table}" SET state = 'sent', sent_at = now() WHERE id = $1` },
        deadLetter: { set: { state: 'failed' }, errorColumn: 'error' },
      },
      lease: '30s',
    },
    { service },
  );
  const send = async (tx: Transaction<Invoice>): Promise<void> => {
    if (tx.payload['email'] === null) {
      throw new NonRetryableError(
        `invoice ${tx.id}: customer ${String(tx.payload['customer'])} has no email`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10)); // the mail server
  };
  const outcomes = consume(
    invoices,
    consumerTask({
      process: send,
      onException: (_tx, error) => {
        throw error; // unhandled: the invoice is marked failed with this error
      },
    }),
    { loop: { limit: 2 } },
  );
  return { invoices, outcomes };
}

const workers = [worker(), worker()];
const outcomes = await lastValueFrom(merge(...workers.map((w) => w.outcomes)).pipe(toArray()));
for (const w of workers) await w.invoices.close();

const { rows } = await service.pool.query<{ id: number; state: string; error: string | null }>(
  `SELECT id, state, error FROM "${table}" ORDER BY id`,
);
for (const row of rows) {
  console.log(`invoice ${row.id}: ${row.state}${row.error === null ? '' : ` (${row.error})`}`);
}
console.log(`${outcomes.length} outcomes`);
await service.pool.query(`DROP TABLE "${table}"`);
await service.close();
