import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { createTransaction, TransactionError, type Transaction } from '../../../lib/index.js';
import {
  PostgresConnector,
  queueKey,
  type PostgresConnectorConfigInput,
} from '../../../lib/connectors/postgres/index.js';
import { uniqueName } from '../../support/real-service.js';
import { postgresSuite } from './fixtures/postgres-suite.js';
import { adminQuery, eventually, testUrl } from './fixtures/queue-fixture.js';

type Job = { readonly key: string | null; readonly n: number };

/** A transaction of `key` (`null`: none), its id `<key>-<n>`. */
function job(key: string | null, n: number): Transaction<Job> {
  return createTransaction<Job>(
    { key, n },
    { id: `${key ?? 'none'}-${n}`, ...(key === null ? {} : { metadata: { key } }) },
  );
}

describe('PostgresConnector — order per key across workers (real PostgreSQL)', function () {
  this.timeout(20_000);
  const { tables, connectors } = postgresSuite<Job>();

  /** A migrated connector ("a worker") on `table` (a fresh table when not given). */
  async function worker(
    config: Partial<PostgresConnectorConfigInput<Job>> = {},
  ): Promise<PostgresConnector<Job>> {
    const table = config.table ?? uniqueName('ergon_pg_keyed');
    if (!tables.includes(table)) tables.push(table);
    const connector = new PostgresConnector<Job>({
      connection: { url: testUrl, applicationName: uniqueName('ergon_pg_keyed_app') },
      fetchWait: 0,
      ...config,
      table,
    });
    connectors.push(connector);
    await connector.migrate();
    return connector;
  }

  /** One fetch of up to `size` rows, as `<id>` strings sorted. */
  async function claim(connector: PostgresConnector<Job>, size = 10): Promise<Transaction<Job>[]> {
    return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
  }

  const ids = (transactions: readonly Transaction<Job>[]): string[] =>
    transactions.map((tx) => tx.id).sort();

  it('stores metadata.key in the key column and gives it back in the metadata; rows without one keep the old metadata', async () => {
    const connector = await worker();
    const empty = createTransaction<Job>(
      { key: '', n: 0 },
      { id: 'empty-0', metadata: { key: '' } },
    );
    const notText = createTransaction<Job>(
      { key: null, n: 0 },
      { id: 'number-0', metadata: { key: 7 } },
    );
    const report = await connector.dispatch([job('k1', 0), job(null, 0), empty, notText]);
    expect(report.failed).to.deep.equal([]);
    const rows = await adminQuery<{ id: string; key: string | null }>(
      `SELECT id, key FROM public."${connector.config.table}" ORDER BY seq`,
    );
    expect(rows).to.deep.equal([
      { id: 'k1-0', key: 'k1' },
      { id: 'none-0', key: null },
      { id: 'empty-0', key: null },
      { id: 'number-0', key: null },
    ]);
    const fetched = new Map((await claim(connector)).map((tx) => [tx.id, tx]));
    expect(fetched.get('k1-0')?.metadata['key']).to.equal('k1');
    expect(queueKey(fetched.get('k1-0') as Transaction<Job>)).to.equal('k1');
    for (const id of ['none-0', 'empty-0', 'number-0']) {
      const metadata = fetched.get(id)?.metadata ?? {};
      expect(Object.keys(metadata), id).to.deep.equal([
        'table',
        'deliveryCount',
        'redelivered',
        'enqueuedAt',
        'headers',
      ]);
    }
    const byId = await lastValueFrom(connector.fetchById('k1-0'));
    expect(byId?.metadata['key']).to.equal('k1');
  });

  it('keeps the order of a batch in seq, also when the batch is inserted row by row after a bad row', async () => {
    const connector = await worker();
    const sent = [job('k', 0), job('k', 1), job(null, 2), job('k', 3)];
    const bad = createTransaction<Job>(
      { key: 'k\u0000', n: 9 },
      { id: 'bad', metadata: { key: 'k' } },
    );
    const report = await connector.dispatch([...sent.slice(0, 2), bad, ...sent.slice(2)]);
    expect(report.failed.map((failure) => failure.transaction.id)).to.deep.equal(['bad']);
    const rows = await adminQuery<{ id: string }>(
      `SELECT id FROM public."${connector.config.table}" ORDER BY seq`,
    );
    expect(rows.map((row) => row.id)).to.deep.equal(['k-0', 'k-1', 'none-2', 'k-3']);
  });

  it('hands out only the head of each key, across two workers, while other keys and unkeyed rows flow', async () => {
    const a = await worker();
    const b = await worker({ table: a.config.table });
    await a.dispatch([
      job('x', 1),
      job('y', 1),
      job('x', 2),
      job(null, 1),
      job('y', 2),
      job('x', 3),
    ]);
    expect(ids(await claim(a))).to.deep.equal(['none-1', 'x-1', 'y-1']);
    expect(ids(await claim(b)), 'the heads are leased by a').to.deep.equal([]);
    await a.dispatch([job('z', 1), job(null, 2)]);
    expect(ids(await claim(b)), 'a new key and an unkeyed row flow').to.deep.equal([
      'none-2',
      'z-1',
    ]);
  });

  it('keeps the rows behind a head blocked through a release with a delay, a lease taken over and a redelivery; a dead letter or an ack unblocks them', async () => {
    const a = await worker({ releaseDelay: 300 });
    const b = await worker({ table: a.config.table, releaseDelay: 300 });
    const table = a.config.table;
    await a.dispatch([job('x', 1), job('x', 2), job('x', 3), job('y', 1), job('y', 2)]);
    const first = new Map((await claim(a)).map((tx) => [tx.id, tx]));
    expect([...first.keys()].sort()).to.deep.equal(['x-1', 'y-1']);

    // x-1 released with a delay: it is not claimable, and neither is x-2 behind it.
    await a.settle(first.get('x-1') as Transaction<Job>, { type: 'release', reason: 'shutdown' });
    expect(ids(await claim(b)), 'during the release delay').to.deep.equal([]);
    let again: Transaction<Job>[] = [];
    await eventually(
      async () => (again = await claim(b)).length > 0,
      5000,
      'x-1 after the release delay',
    );
    expect(ids(again)).to.deep.equal(['x-1']);
    expect(again[0]?.metadata['deliveryCount']).to.equal(2);

    // y-1's lease runs out (a worker that stalled): b takes y-1 over, y-2 still waits.
    await adminQuery(
      `UPDATE public."${table}" SET lease_until = now() - interval '1 second',
         available_at = now() - interval '1 second' WHERE id = 'y-1'`,
    );
    const takenOver = await claim(b);
    expect(ids(takenOver), 'y-1 taken over, y-2 behind it').to.deep.equal(['y-1']);
    expect(ids(await claim(a))).to.deep.equal([]);

    // Dead-lettering x-1 unblocks x-2; the dead row keeps its key.
    const error = new TransactionError('card declined', { category: 'business', stage: 'process' });
    await b.settle(again[0] as Transaction<Job>, { type: 'deadLetter', error });
    expect(ids(await claim(a))).to.deep.equal(['x-2']);
    const dead = await adminQuery<{ id: string; key: string | null; reason: string }>(
      `SELECT id, key, reason FROM public."${table}_dead" ORDER BY dead_id`,
    );
    expect(dead).to.deep.equal([{ id: 'x-1', key: 'x', reason: 'deadLetter' }]);

    // Acking y-1 (on b, which holds it now) unblocks y-2.
    await b.settle(takenOver[0] as Transaction<Job>, { type: 'ack' });
    expect(ids(await claim(a))).to.deep.equal(['y-2']);
  });

  it('buries a poison head with its key and unblocks the row behind it', async () => {
    const a = await worker({ maxDeliveries: 1 });
    await a.dispatch([job('p', 1), job('p', 2)]);
    const [head] = await claim(a);
    // The worker "crashed": its lease runs out, and the next claim finds the head poison.
    await adminQuery(
      `UPDATE public."${a.config.table}" SET lease_until = now() - interval '1 second',
         available_at = now() - interval '1 second' WHERE id = $1`,
      [head?.id],
    );
    expect(ids(await claim(a))).to.deep.equal(['p-2']);
    const dead = await adminQuery<{ id: string; key: string | null; reason: string }>(
      `SELECT id, key, reason FROM public."${a.config.table}_dead"`,
    );
    expect(dead).to.deep.equal([{ id: 'p-1', key: 'p', reason: 'maxDeliveries' }]);
  });

  it('does not hand out a lower seq that committed after a later row of its key was claimed, until that row is settled', async () => {
    const a = await worker();
    const b = await worker({ table: a.config.table });
    await a.dispatch([job('k', 2)]);
    const [later] = await claim(a);
    expect(later?.id).to.equal('k-2');
    // What two producers inserting at once can leave: a row with a lower seq committed last.
    await adminQuery(
      `INSERT INTO public."${a.config.table}" (id, payload, key, seq) OVERRIDING SYSTEM VALUE
       VALUES ('k-1', '{"key":"k","n":1}', 'k', 0)`,
    );
    expect(ids(await claim(b)), 'k-2 is still leased').to.deep.equal([]);
    await a.settle(later as Transaction<Job>, { type: 'ack' });
    expect(ids(await claim(b))).to.deep.equal(['k-1']);
  });

  it('wakes a waiting fetch when an ack makes the next row of a key claimable', async () => {
    const a = await worker();
    const b = await worker({ table: a.config.table, fetchWait: 5000 });
    await a.dispatch([job('w', 1), job('w', 2)]);
    const [head] = await claim(a);
    const started = Date.now();
    const waiting = claim(b);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.settle(head as Transaction<Job>, { type: 'ack' });
    expect(ids(await waiting)).to.deep.equal(['w-2']);
    expect(Date.now() - started, 'woken by the ack, not after fetchWait').to.be.below(2000);
  });
});
