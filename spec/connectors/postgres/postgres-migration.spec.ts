import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import {
  PostgresConnector,
  PostgresQueueError,
  queueKey,
} from '../../../lib/connectors/postgres/index.js';
import { uniqueName } from '../../support/real-service.js';
import { postgresSuite } from './fixtures/postgres-suite.js';
import { adminQuery, testUrl } from './fixtures/queue-fixture.js';

/**
 * The tables `migrate()` created before order per key (ergon-rx 0.1.0, commit ffa9921): no
 * `key` and no `seq` in the queue table, no `key` in the dead table. Copied from that
 * version's `migrateQueue`.
 */
async function createOldTables(table: string): Promise<void> {
  const queue = `public."${table}"`;
  const dead = `public."${table}_dead"`;
  await adminQuery(`CREATE TABLE ${queue} (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text CHECK (id <> ''),
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  available_at timestamptz NOT NULL DEFAULT now(),
  deliveries integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz
)`);
  await adminQuery(`CREATE INDEX "${table}_available_at" ON ${queue} (available_at)`);
  await adminQuery(`CREATE TABLE ${dead} (
  dead_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  deliveries integer NOT NULL,
  reason text NOT NULL,
  error text NOT NULL,
  category text,
  stage text,
  dead_at timestamptz NOT NULL DEFAULT now()
)`);
  await adminQuery(`CREATE INDEX "${table}_dead_id" ON ${dead} (id)`);
  await adminQuery(`CREATE OR REPLACE FUNCTION public.ergon_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END
$$`);
  await adminQuery(`CREATE TRIGGER ergon_notify AFTER INSERT ON ${queue}
FOR EACH STATEMENT EXECUTE FUNCTION public.ergon_notify('${table}')`);
}

async function columnsOf(table: string): Promise<Record<string, string>> {
  const rows = await adminQuery<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [`public."${table}"`],
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.type]));
}

describe('PostgresConnector — migrating a queue of the previous version (real PostgreSQL)', function () {
  this.timeout(20_000);
  const { tables, connectors } = postgresSuite();

  function connector(table: string): PostgresConnector {
    const created = new PostgresConnector({
      connection: { url: testUrl, applicationName: uniqueName('ergon_pg_migrate_app') },
      table,
      fetchWait: 0,
    });
    connectors.push(created);
    return created;
  }

  it('adds key, seq and their indexes to a queue that holds rows, keeps those rows, and then keeps order per key', async () => {
    const table = uniqueName('ergon_pg_old');
    tables.push(table);
    await createOldTables(table);
    // Rows of the old version: waiting, leased by a worker of the old version, and dead.
    await adminQuery(
      `INSERT INTO public."${table}" (id, payload) SELECT 'old-' || n, jsonb_build_object('n', n)
       FROM generate_series(1, 5) n`,
    );
    await adminQuery(
      `UPDATE public."${table}" SET lease_owner = 'old-worker', deliveries = 1,
         lease_until = now() + interval '1 minute', available_at = now() + interval '1 minute'
       WHERE id = 'old-5'`,
    );
    await adminQuery(
      `INSERT INTO public."${table}_dead" (id, payload, headers, created_at, deliveries, reason, error)
       VALUES ('old-dead', '{}', '{}', now(), 1, 'deadLetter', 'Error: old')`,
    );

    // Two workers of the new version start at once.
    const [a, b] = [connector(table), connector(table)] as [PostgresConnector, PostgresConnector];
    await Promise.all([a.migrate(), b.migrate()]);
    await a.migrate(); // and again: nothing left to do
    expect(await columnsOf(table)).to.include({ key: 'text', seq: 'bigint' });
    expect(await columnsOf(`${table}_dead`)).to.include({ key: 'text' });
    const indexes = await adminQuery<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`,
      [table],
    );
    expect(indexes.map((index) => index.name)).to.include.members([
      `${table}_key_seq`,
      `${table}_key_leased`,
    ]);
    const old = await adminQuery<{ id: string; key: string | null; seq: string | null }>(
      `SELECT id, key, seq FROM public."${table}" ORDER BY id`,
    );
    expect(old.map((row) => row.id)).to.deep.equal(['old-1', 'old-2', 'old-3', 'old-4', 'old-5']);
    expect(old.every((row) => row.key === null && row.seq !== null)).to.equal(true);
    expect(new Set(old.map((row) => row.seq)).size).to.equal(5);

    // New keyed rows go behind; the old rows are claimed as unkeyed rows (old-5 stays leased).
    const sent = ['k-1', 'k-2', 'k-3'].map((id) =>
      createTransaction({ id }, { id, metadata: { key: 'k' } }),
    );
    expect((await a.dispatch(sent)).failed).to.deep.equal([]);
    const first = await lastValueFrom(b.fetch({ size: 10, extra: {} }).pipe(toArray()));
    expect(first.map((tx) => tx.id).sort()).to.deep.equal([
      'k-1',
      'old-1',
      'old-2',
      'old-3',
      'old-4',
    ]);
    const error = new TransactionError('declined', { category: 'business', stage: 'process' });
    for (const tx of first) {
      await b.settle(tx, tx.id === 'k-1' ? { type: 'deadLetter', error } : { type: 'ack' });
    }
    const order: string[] = [];
    await lastValueFrom(
      consume(
        a,
        consumerTask({ key: queueKey, process: (tx: Transaction) => void order.push(tx.id) }),
        { loop: { concurrency: { value: 4 } } },
      ).pipe(toArray()),
    );
    expect(order).to.deep.equal(['k-2', 'k-3']);
    const dead = await adminQuery<{ id: string; key: string | null }>(
      `SELECT id, key FROM public."${table}_dead" ORDER BY dead_id`,
    );
    expect(dead).to.deep.equal([
      { id: 'old-dead', key: null },
      { id: 'k-1', key: 'k' },
    ]);
  });

  it('refuses a queue table whose key column has another type, naming it', async () => {
    const table = uniqueName('ergon_pg_oldkey');
    tables.push(table);
    await createOldTables(table);
    await adminQuery(`ALTER TABLE public."${table}" ADD COLUMN key integer`);
    let failure: unknown;
    await connector(table)
      .migrate()
      .catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(PostgresQueueError);
    expect(String(failure)).to.match(/key column of type integer, ergon-rx needs text/);
  });
});
