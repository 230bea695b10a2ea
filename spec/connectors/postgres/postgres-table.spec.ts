import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  PolicyError,
  SettlementError,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import {
  PostgresTableConnector,
  PostgresTableError,
  type PostgresTableConfigInput,
} from '../../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { adminQuery, testUrl } from './fixtures/queue-fixture.js';

type Row = Readonly<Record<string, unknown>>;

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A plain orders table with a status claim. */
async function ordersTable(count: number): Promise<string> {
  const table = uniqueName('orders');
  await adminQuery(`CREATE TABLE public.${quote(table)} (
  id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
  status text NOT NULL DEFAULT 'pending', claimed_until timestamptz, error text)`);
  if (count > 0) {
    await adminQuery(
      `INSERT INTO public.${quote(table)} (customer, amount) SELECT 'c' || n, n FROM generate_series(1, $1) n`,
      [count],
    );
  }
  return table;
}

async function statuses(
  table: string,
): Promise<{ id: number; status: string; error: string | null }[]> {
  return adminQuery(`SELECT id, status, error FROM public.${quote(table)} ORDER BY id`);
}

function fetchAll<P>(
  connector: PostgresTableConnector<P>,
  size: number,
): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

describe('PostgresTableConnector (real PostgreSQL)', function () {
  this.timeout(20_000);
  const tables: string[] = [];
  const connectors: PostgresTableConnector<unknown>[] = [];

  before(async function () {
    await requireService(this, 'postgres');
  });

  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.close();
  });

  after(async () => {
    for (const table of tables.splice(0)) {
      await adminQuery(`DROP TABLE IF EXISTS public.${quote(table)}`);
    }
  });

  function connect<P = Row>(
    table: string,
    config: Partial<PostgresTableConfigInput<P>> = {},
  ): PostgresTableConnector<P> {
    tables.push(table);
    const connector = new PostgresTableConnector<P>({
      connection: { url: testUrl, poolSize: 4 },
      table,
      claim: { statusColumn: 'status', leaseColumn: 'claimed_until' },
      settle: { deadLetter: { set: { status: 'failed' }, errorColumn: 'error' } },
      ...config,
    });
    connectors.push(connector);
    return connector;
  }

  it('claims rows in order as transactions, marks them claimed, and acks, dead-letters and releases them', async () => {
    const table = await ordersTable(5);
    const connector = connect(table);
    const fetched = await fetchAll(connector, 3);
    expect(fetched.map((tx) => tx.id)).to.deep.equal(['1', '2', '3']);
    expect(fetched[0]?.payload).to.include({ id: 1, customer: 'c1', status: 'processing' });
    expect(fetched[0]?.metadata).to.include({ table: `public.${table}` });
    expect((await statuses(table)).map((row) => row.status)).to.deep.equal([
      'processing',
      'processing',
      'processing',
      'pending',
      'pending',
    ]);
    const [first, second, third] = fetched as [
      Transaction<Row>,
      Transaction<Row>,
      Transaction<Row>,
    ];
    await Promise.all([
      connector.settle(first, { type: 'ack' }),
      connector.settle(second, {
        type: 'deadLetter',
        error: new TransactionError('card declined', { category: 'business' }),
      }),
      connector.settle(third, { type: 'release', reason: 'shutdown' }),
    ]);
    const rows = await statuses(table);
    expect(rows.slice(0, 3)).to.deep.equal([
      { id: 1, status: 'done', error: null },
      { id: 2, status: 'failed', error: 'card declined' },
      { id: 3, status: 'pending', error: null },
    ]);
    const [leases] = await adminQuery<{ held: number }>(
      `SELECT count(*)::int AS held FROM public.${quote(table)} WHERE claimed_until IS NOT NULL`,
    );
    expect(leases?.held).to.equal(0);
    expect((await fetchAll(connector, 10)).map((tx) => tx.id)).to.deep.equal(['3', '4', '5']);
    expect(await firstValueFrom(connector.count())).to.equal(0);
  });

  it('rejects a second settlement and one of a transaction it never fetched', async () => {
    const table = await ordersTable(1);
    const connector = connect(table);
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Row>, { type: 'ack' });
    await connector.settle(tx as Transaction<Row>, { type: 'ack' }).then(
      () => expect.fail('settled twice'),
      (error: unknown) => expect(error).to.be.instanceOf(SettlementError),
    );
    await connector.settle(createTransaction({}), { type: 'ack' }).then(
      () => expect.fail('settled a stranger'),
      (error: unknown) => expect(error).to.be.instanceOf(SettlementError),
    );
  });

  it('gives a crashed worker’s rows to another once the lease expired, and fences the late settlement', async () => {
    const table = await ordersTable(2);
    // A lease long enough that the survivor's first claim, a round trip or two after the
    // crash, comes before it ends even on a busy machine.
    const crashed = connect(table, { lease: 1000 });
    const claimed = await fetchAll(crashed, 2);
    expect(claimed).to.have.length(2);
    // The crashed worker's renewal stops (as if SIGKILLed): take its renewal timer away.
    clearInterval((crashed as unknown as { renewal: NodeJS.Timeout }).renewal);
    const survivor = connect(table);
    expect(await fetchAll(survivor, 2)).to.have.length(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await fetchAll(survivor, 2);
    expect(again.map((tx) => tx.id)).to.deep.equal(['1', '2']);
    await crashed.settle(claimed[0] as Transaction<Row>, { type: 'ack' }).then(
      () => expect.fail('a stale claim settled the row'),
      (error: unknown) => expect(error).to.be.instanceOf(DeliveryLostError),
    );
    for (const tx of again) await survivor.settle(tx, { type: 'ack' });
    expect((await statuses(table)).map((row) => row.status)).to.deep.equal(['done', 'done']);
  });

  it('renews the lease of a row held longer than the lease', async () => {
    const table = await ordersTable(1);
    const connector = connect(table, { lease: 400 });
    const [tx] = await fetchAll(connector, 1);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const other = connect(table);
    expect(await fetchAll(other, 1)).to.have.length(0);
    await connector.settle(tx as Transaction<Row>, { type: 'ack' });
    expect((await statuses(table))[0]?.status).to.equal('done');
  });

  it('works with a lock claim, a where filter and delete/sql settlements', async () => {
    const table = uniqueName('jobs');
    tables.push(table);
    await adminQuery(`CREATE TABLE public.${quote(table)} (
  job_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), kind text, done_at timestamptz,
  locked_by text, locked_until timestamptz, n int)`);
    await adminQuery(
      `INSERT INTO public.${quote(table)} (kind, n) SELECT CASE WHEN n % 2 = 0 THEN 'mail' ELSE 'sms' END, n FROM generate_series(1, 6) n`,
    );
    const connector = connect(table, {
      idColumn: 'job_id',
      orderBy: ['n'],
      where: "kind = 'mail' AND done_at IS NULL",
      claim: { lockColumn: 'locked_by', leaseColumn: 'locked_until' },
      settle: {
        ack: { sql: `UPDATE public.${quote(table)} SET done_at = now() WHERE job_id = $1` },
        deadLetter: 'delete',
      },
    });
    const fetched = await fetchAll(connector, 10);
    expect(fetched.map((tx) => tx.payload['n'])).to.deep.equal([2, 4, 6]);
    const [locks] = await adminQuery<{ owners: string[] }>(
      `SELECT array_agg(DISTINCT locked_by) AS owners FROM public.${quote(table)} WHERE locked_by IS NOT NULL`,
    );
    expect(locks?.owners).to.have.length(1);
    expect(locks?.owners[0]).to.match(new RegExp(`^${connector.owner}:`));
    await connector.settle(fetched[0] as Transaction<Row>, { type: 'ack' });
    await connector.settle(fetched[1] as Transaction<Row>, {
      type: 'deadLetter',
      error: new TransactionError('bad', { category: 'business' }),
    });
    await connector.settle(fetched[2] as Transaction<Row>, { type: 'release', reason: 'shutdown' });
    const rows = await adminQuery<{ n: number; done: boolean; locked: boolean }>(
      `SELECT n, done_at IS NOT NULL AS done, locked_by IS NOT NULL OR locked_until IS NOT NULL AS locked
FROM public.${quote(table)} WHERE kind = 'mail' ORDER BY n`,
    );
    expect(rows).to.deep.equal([
      { n: 2, done: true, locked: false },
      { n: 6, done: false, locked: false },
    ]);
    expect((await fetchAll(connector, 10)).map((tx) => tx.payload['n'])).to.deep.equal([6]);
  });

  it('quotes hostile table and column names and binds every value', async () => {
    const table = `Ord"ers; DROP TABLE x; --${uniqueName('')}`.slice(0, 60);
    const status = `st"at us'); --`;
    const lease = 'lease "until"';
    const id = 'I d';
    await adminQuery(`CREATE TABLE public.${quote(table)} (
  ${quote(id)} text PRIMARY KEY, ${quote(status)} text NOT NULL, ${quote(lease)} timestamptz, note text)`);
    const connector = connect(table, {
      idColumn: id,
      claim: { statusColumn: status, leaseColumn: lease, ready: "it's ready", claimed: '$1 --' },
      settle: {
        ack: { set: { [status]: `done'); DROP TABLE x; --`, note: "O'Reilly $2" } },
        deadLetter: { set: { [status]: 'failed' }, errorColumn: 'note' },
      },
    });
    await connector.dispatch([
      createTransaction({ [id]: `a'b"c` }),
      createTransaction({ [id]: 'x', [status]: 'parked' }),
    ]);
    const fetched = await fetchAll(connector, 5);
    expect(fetched.map((tx) => tx.id)).to.deep.equal([`a'b"c`]);
    expect(fetched[0]?.payload[status]).to.equal('$1 --');
    await connector.settle(fetched[0] as Transaction<Row>, { type: 'ack' });
    const rows = await adminQuery<Record<string, unknown>>(
      `SELECT ${quote(id)} AS id, ${quote(status)} AS status, note FROM public.${quote(table)} ORDER BY 1`,
    );
    expect(rows).to.deep.equal([
      { id: `a'b"c`, status: `done'); DROP TABLE x; --`, note: "O'Reilly $2" },
      { id: 'x', status: 'parked', note: null },
    ]);
  });

  it('names a missing table, a missing column and a lease column of the wrong type', async () => {
    const missing = connect(uniqueName('absent'));
    await fetchAll(missing, 1).then(
      () => expect.fail('fetched from a missing table'),
      (error: unknown) => {
        expect(error).to.be.instanceOf(PostgresTableError);
        expect((error as Error).message).to.match(/does not exist/);
      },
    );
    const table = await ordersTable(1);
    const typo = connect(table, {
      claim: { statusColumn: 'state', leaseColumn: 'claimed_until' } as never,
      settle: { ack: { set: { state: 'done' } }, deadLetter: { set: { state: 'failed' } } },
    });
    await fetchAll(typo, 1).then(
      () => expect.fail('fetched with a missing column'),
      (error: unknown) => {
        expect(error).to.be.instanceOf(PostgresTableError);
        expect((error as Error).message).to.include('no column "state" (claim.statusColumn)');
      },
    );
    const wrongType = uniqueName('wrong');
    await adminQuery(
      `CREATE TABLE public.${quote(wrongType)} (id int PRIMARY KEY, status text, claimed_until timestamp, error text)`,
    );
    await fetchAll(connect(wrongType), 1).then(
      () => expect.fail('accepted a timestamp without time zone'),
      (error: unknown) => expect((error as Error).message).to.include('not timestamptz'),
    );
  });

  it('refuses configs that would claim settled rows again', () => {
    const build = (input: unknown) => () =>
      new PostgresTableConnector(input as PostgresTableConfigInput);
    expect(
      build({
        table: 't',
        claim: { statusColumn: 's', leaseColumn: 'l' },
        settle: { ack: { set: { other: 1 } } },
      }),
    ).to.throw(PolicyError, /settle\.ack: expected a set that moves s out of "processing"/);
    expect(build({ table: 't', claim: { lockColumn: 'k', leaseColumn: 'l' } })).to.throw(
      PolicyError,
      /settle: expected settle\.ack and settle\.deadLetter with a lock claim/,
    );
    expect(
      build({
        table: 't',
        claim: { lockColumn: 'k', leaseColumn: 'l' },
        settle: { ack: { set: { x: 1 } }, deadLetter: 'delete' },
      }),
    ).to.throw(PolicyError, /where\/fetchQuery/);
    expect(build({ table: 't', claim: { statusColum: 's' } })).to.throw(PolicyError, /claim/);
  });

  it('routes a row its decode rejects to the exception handler as a decode error, then settles it', async () => {
    const table = await ordersTable(2);
    await adminQuery(`UPDATE public.${quote(table)} SET customer = '' WHERE id = 2`);
    const connector = connect<{ customer: string }>(table, {
      decode: (row) => {
        if (row['customer'] === '') throw new Error('customer is empty');
        return { customer: String(row['customer']) };
      },
    });
    const handled: string[] = [];
    const outcomes = await lastValueFrom(
      consume(
        connector,
        consumerTask({
          process: () => undefined,
          onException: (tx, error) => {
            handled.push(`${tx.id}:${error.stage}`);
            throw error;
          },
        }),
        { loop: { limit: 2 } },
      ).pipe(toArray()),
    );
    expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal(['failed', 'success']);
    expect(handled).to.deep.equal(['2:decode']);
    const rows = await statuses(table);
    expect(rows.map((row) => row.status)).to.deep.equal(['done', 'failed']);
    expect(rows[1]?.error).to.include('customer is empty');
  });

  it('frees rows claimed by a fetch unsubscribed before it emitted them, and releases held rows on close', async () => {
    const table = await ordersTable(4);
    const connector = connect(table);
    const first = await firstValueFrom(connector.fetch({ size: 3, extra: {} }));
    expect(first.id).to.equal('1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await statuses(table)).map((row) => row.status)).to.deep.equal([
      'processing',
      'pending',
      'pending',
      'pending',
    ]);
    await connector.close();
    expect((await statuses(table)).every((row) => row.status === 'pending')).to.equal(true);
    await connector.settle(first, { type: 'ack' }).then(
      () => expect.fail('settled after close released it'),
      (error: unknown) => expect(error).to.be.instanceOf(DeliveryLostError),
    );
  });
});
