import { expect } from 'chai';
import fc from 'fast-check';
import pg from 'pg';
import { lastValueFrom, toArray } from 'rxjs';
import {
  createTransaction,
  MemoryConnector,
  PolicyError,
  type Transaction,
} from '../../lib/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { EffectivelyOnceError, inbox, transactional } from '../../lib/effectively-once/index.js';
import { requireService, uniqueName } from '../support/real-service.js';
import { adminQuery, testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';
import { BrokerProbe, brokerUrl } from '../connectors/rabbitmq/fixtures/broker.js';

describe('inbox (real PostgreSQL)', function () {
  this.timeout(30_000);
  let pool: pg.Pool;
  const tables: string[] = [];

  before(async function () {
    await requireService(this, 'postgres');
    pool = new pg.Pool({ connectionString: testUrl, max: 10 });
  });

  after(async () => {
    for (const table of tables) await adminQuery(`DROP TABLE IF EXISTS ${table}, ${table}_effects`);
    await pool?.end();
  });

  async function setUp(retention: number | string = '7d') {
    const table = uniqueName('inbox');
    tables.push(table);
    const seen = inbox(pool, { table, retention });
    await seen.migrate();
    await pool.query(`CREATE TABLE ${table}_effects (id text)`);
    return { seen, table, effects: `${table}_effects` };
  }

  async function effectsOf(effects: string): Promise<string[]> {
    const rows = await adminQuery<{ id: string }>(`SELECT id FROM ${effects} ORDER BY id`);
    return rows.map((row) => row.id);
  }

  it('runs each id once, however often it is delivered (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 15 }),
        async (deliveries) => {
          const { seen, effects } = await setUp();
          const connector = new MemoryConnector<string>({ record: true });
          connector.enqueue(...deliveries.map((id) => createTransaction(id, { id })));
          const consumer = transactional(connector, { inbox: seen });
          const outcomes = await lastValueFrom(
            consumer
              .consume(
                {
                  process: async (tx: Transaction<string>, { db }) => {
                    await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
                    return tx.id;
                  },
                },
                { loop: { concurrency: { value: 3 } } },
              )
              .pipe(toArray()),
          );
          await consumer.close();
          expect(outcomes.every((outcome) => outcome.status === 'success')).to.equal(true);
          expect(await effectsOf(effects)).to.deep.equal([...new Set(deliveries)].sort());
          expect(connector.settlements.filter((s) => s.decision.type === 'ack')).to.have.length(
            deliveries.length,
          );
        },
      ),
      { numRuns: 10 },
    );
  });

  it('does not record the id of a transaction that failed (its redelivery runs again)', async () => {
    const { seen, effects, table } = await setUp();
    const connector = new MemoryConnector<string>({ record: true });
    connector.enqueue(createTransaction('x', { id: 'x' }));
    const consumer = transactional(connector, { inbox: seen });
    const run = (fail: boolean) =>
      lastValueFrom(
        consumer
          .consume({
            process: async (tx: Transaction<string>, { db }) => {
              await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
              if (fail) throw new Error('failed');
            },
          })
          .pipe(toArray()),
      );
    expect((await run(true)).map((outcome) => outcome.status)).to.deep.equal(['failed']);
    expect(await adminQuery(`SELECT id FROM ${table}`)).to.deep.equal([]);
    connector.enqueue(createTransaction('x', { id: 'x' }));
    expect((await run(false)).map((outcome) => outcome.status)).to.deep.equal(['success']);
    expect(await effectsOf(effects)).to.deep.equal(['x']);
    await consumer.close();
  });

  it('expires ids older than the retention, and only those', async () => {
    const { seen, table } = await setUp('1h');
    await pool.query(
      `INSERT INTO ${table} (id, received_at) VALUES ('old', now() - interval '61 minutes'),
         ('recent', now() - interval '59 minutes'), ('new', now())`,
    );
    expect(await seen.expire()).to.equal(1);
    const left = await adminQuery<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`);
    expect(left.map((row) => row.id)).to.deep.equal(['new', 'recent']);
    expect(seen.config.retention).to.equal(3_600_000);
    expect(seen.config.expireEvery).to.equal(360_000);
  });

  it('says to call migrate() when the inbox table is missing', async () => {
    const connector = new MemoryConnector<string>();
    connector.enqueue(createTransaction('x', { id: 'x' }));
    const missing = inbox(pool, { table: uniqueName('missing_inbox') });
    const consumer = transactional(connector, { inbox: missing });
    const [outcome] = await lastValueFrom(
      consumer
        .consume({ process: () => 'never' }, { process: { retry: { maxAttempts: 1 } } })
        .pipe(toArray()),
    );
    await consumer.close();
    expect(outcome?.status).to.equal('failed');
    const error = outcome?.status === 'failed' ? outcome.error.cause : undefined;
    expect(error).to.be.instanceOf(EffectivelyOnceError);
    expect((error as Error).message).to.match(/does not exist: call migrate\(\)/);
  });

  it('reads retention as ms, "36h" or "7d", and names a bad one', () => {
    expect(inbox(pool, { retention: '7d' }).config.retention).to.equal(7 * 86_400_000);
    expect(inbox(pool, { retention: 90_000 }).config.retention).to.equal(90_000);
    expect(() => inbox(pool, { retention: 'a week' })).to.throw(PolicyError, /retention/);
    expect(() => inbox(pool, { table: 'no such"table' })).to.throw(PolicyError, /table/);
  });

  describe('with RabbitMQ (127.0.0.1:5672)', () => {
    let probe: BrokerProbe;
    before(async function () {
      await requireService(this, 'rabbitmq');
      probe = await BrokerProbe.open();
    });
    after(async () => probe?.close());

    it('skips a redelivered transaction: one write', async () => {
      const { seen, effects } = await setUp();
      const queue = uniqueName('once_inbox');
      const rabbit = new RabbitmqConnector<{ n: number }>({
        connection: { url: brokerUrl, connectionName: 'ergon inbox spec' },
        queue,
        fetchWait: 200,
      });
      try {
        const order = createTransaction({ n: 1 }, { id: 'order-1' });
        // The broker delivers it twice, as after an ack lost to a dropped connection.
        await rabbit.dispatch([order]);
        await rabbit.dispatch([order, createTransaction({ n: 2 }, { id: 'order-2' })]);
        const consumer = transactional(rabbit, { inbox: seen });
        const outcomes = await lastValueFrom(
          consumer
            .consume(
              {
                process: async (tx: Transaction<{ n: number }>, { db }) => {
                  await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
                  return tx.payload.n;
                },
              },
              { loop: { mode: 'batch', concurrency: { value: 1 } } },
            )
            .pipe(toArray()),
        );
        await consumer.close();
        expect(outcomes.map((outcome) => [outcome.transaction.id, outcome.status])).to.deep.equal([
          ['order-1', 'success'],
          ['order-1', 'success'],
          ['order-2', 'success'],
        ]);
        expect(await effectsOf(effects)).to.deep.equal(['order-1', 'order-2']);
        expect(await probe.messageCount(queue)).to.equal(0);
      } finally {
        await rabbit.close();
        await probe.deleteTopology(queue);
      }
    });
  });
});
