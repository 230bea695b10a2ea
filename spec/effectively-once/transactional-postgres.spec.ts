import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { createTransaction, type Outcome, type Transaction } from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import {
  AttemptEndedError,
  EffectivelyOnceError,
  transactional,
} from '../../lib/effectively-once/index.js';
import { MemoryConnector } from '../../lib/index.js';
import { requireService, uniqueName } from '../support/real-service.js';
import {
  adminQuery,
  deadRows,
  dropQueue,
  eventually,
  queuedIds,
  testUrl,
} from '../connectors/postgres/fixtures/queue-fixture.js';

const crashWorker = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));

describe('transactional settlement on the PostgreSQL queue (real PostgreSQL)', function () {
  this.timeout(30_000);
  const tables: string[] = [];
  const connectors: PostgresConnector[] = [];

  before(async function () {
    await requireService(this, 'postgres');
  });

  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((connector) => connector.close()));
    for (const table of tables.splice(0)) {
      await dropQueue(table);
      await adminQuery(
        `DROP TABLE IF EXISTS ${table}_effects, ${table}_outbox, ${table}_outbox_dead`,
      );
    }
  });

  /** A migrated queue holding `ids`, and an empty effects table `<table>_effects`. */
  async function setUp(ids: readonly string[], lease = 30_000) {
    const table = uniqueName('once');
    tables.push(table);
    const queue = new PostgresConnector<{ n: number }>({
      connection: { url: testUrl, poolSize: 12 },
      table,
      lease,
      fetchWait: 50,
    });
    connectors.push(queue);
    await queue.migrate();
    await adminQuery(`CREATE TABLE ${table}_effects (id text, note text)`);
    await queue.dispatch(ids.map((id, n) => createTransaction({ n }, { id })));
    return { queue, table, effects: `${table}_effects` };
  }

  async function effectsOf(effects: string): Promise<string[]> {
    const rows = await adminQuery<{ id: string; note: string | null }>(
      `SELECT id, note FROM ${effects} ORDER BY id, note`,
    );
    return rows.map((row) => (row.note === null ? row.id : `${row.id}:${row.note}`));
  }

  it('commits the handler writes and the ack together', async () => {
    const { queue, effects, table } = await setUp(['a', 'b', 'c']);
    const outcomes = await lastValueFrom(
      transactional(queue)
        .consume({
          process: async (tx: Transaction<{ n: number }>, { db }) => {
            await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
            return tx.payload.n;
          },
        })
        .pipe(toArray()),
    );
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
    ]);
    expect(await effectsOf(effects)).to.deep.equal(['a', 'b', 'c']);
    expect(await queuedIds(table)).to.deep.equal([]);
  });

  it('rolls back the writes of a handler that throws after writing, and dead-letters without them', async () => {
    const { queue, effects, table } = await setUp(['a']);
    const [outcome] = await lastValueFrom(
      transactional(queue)
        .consume(
          {
            process: async (tx: Transaction, { db }) => {
              await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
              throw new Error('failed after writing');
            },
          },
          { process: { retry: { maxAttempts: 2, backoff: 0 } } },
        )
        .pipe(toArray()),
    );
    expect(outcome?.status).to.equal('failed');
    expect(await effectsOf(effects)).to.deep.equal([]);
    expect(await queuedIds(table)).to.deep.equal([]);
    expect((await deadRows(table)).map((row) => row.id)).to.deep.equal(['a']);
  });

  it('keeps only the successful attempt (each attempt is a savepoint) and the exception handler writes with the ack', async () => {
    const { queue, effects } = await setUp(['a', 'b']);
    await lastValueFrom(
      transactional(queue)
        .consume(
          {
            process: async (tx: Transaction, { db, attempt }) => {
              await db.query(`INSERT INTO ${effects} VALUES ($1, $2)`, [tx.id, `try${attempt}`]);
              if (tx.id === 'b' || attempt < 3) throw new Error(`attempt ${attempt} failed`);
            },
            onException: async (tx, error, { db }) => {
              await db.query(`INSERT INTO ${effects} VALUES ($1, 'handled')`, [tx.id]);
              return error.message;
            },
          },
          { process: { retry: { maxAttempts: 3, backoff: 0 } } },
        )
        .pipe(toArray()),
    );
    expect(await effectsOf(effects)).to.deep.equal(['a:try3', 'b:handled']);
  });

  it('rolls back a timed-out attempt, and refuses its late writes', async () => {
    const { queue, effects } = await setUp(['a']);
    let late: unknown = null;
    const [outcome] = await lastValueFrom(
      transactional(queue)
        .consume(
          {
            process: async (tx: Transaction, { db, attempt }) => {
              await db.query(`INSERT INTO ${effects} VALUES ($1, $2)`, [tx.id, `try${attempt}`]);
              if (attempt === 1) {
                await new Promise((resolve) => setTimeout(resolve, 400)); // ignores the signal
                late = await db
                  .query(`INSERT INTO ${effects} VALUES ($1, 'late')`, [tx.id])
                  .catch((error: unknown) => error);
              }
            },
          },
          { process: { retry: { maxAttempts: 2, backoff: 0, timeout: 150 } } },
        )
        .pipe(toArray()),
    );
    expect(outcome?.status).to.equal('success');
    await eventually(() => late !== null, 5000, 'the late write');
    expect(late).to.be.instanceOf(AttemptEndedError);
    expect(await effectsOf(effects)).to.deep.equal(['a:try2']);
  });

  it('rolls back on a stop mid-handler and releases the row', async () => {
    const { queue, effects, table } = await setUp(['a'], 2000);
    const stop$ = new Subject<void>();
    const wrote = new Subject<void>();
    wrote.subscribe(() => stop$.next());
    const outcomes: Outcome[] = [];
    await new Promise<void>((resolve, reject) => {
      transactional(queue)
        .consume(
          {
            process: async (tx: Transaction, { db, signal }) => {
              await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
              wrote.next();
              await new Promise((_, rejectWait) =>
                signal.addEventListener('abort', () => rejectWait(signal.reason as Error)),
              );
            },
          },
          { loop: { shutdownGrace: 50 } },
          { stop$ },
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
    });
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['released']);
    expect(await effectsOf(effects)).to.deep.equal([]);
    expect(await queuedIds(table)).to.deep.equal(['a']);
  });

  it('leaves neither the writes nor the ack when the process is SIGKILLed before COMMIT', async () => {
    const { effects, table } = await setUp(['a'], 1000);
    const child = spawn(process.execPath, ['--import', 'tsx', crashWorker, table, effects], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('wrote a')) resolve();
      });
      child.once('exit', () => reject(new Error('worker exited before writing')));
    });
    child.kill('SIGKILL');
    await exited;
    // The killed backend's transaction is rolled back; the row is still queued (leased).
    await eventually(async () => (await effectsOf(effects)).length === 0, 5000, 'the rollback');
    expect(await queuedIds(table)).to.deep.equal(['a']);
    // After the lease, another consumer processes it once.
    const queue = new PostgresConnector({ connection: { url: testUrl }, table, fetchWait: 50 });
    connectors.push(queue);
    await eventually(
      async () =>
        (await adminQuery(`SELECT 1 FROM ${table} WHERE lease_until < now()`)).length === 1,
      5000,
      'the lease to run out',
    );
    await lastValueFrom(
      transactional(queue)
        .consume({
          process: async (tx: Transaction, { db }) => {
            await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
          },
        })
        .pipe(toArray()),
    );
    expect(await effectsOf(effects)).to.deep.equal(['a']);
    expect(await queuedIds(table)).to.deep.equal([]);
  });

  it('rolls back when the lease was lost to another consumer (its ack finds the row gone)', async () => {
    const { queue, effects, table } = await setUp(['a'], 300);
    const [outcome] = await lastValueFrom(
      transactional(queue)
        .consume({
          process: async (tx: Transaction, { db }) => {
            await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
            // another consumer takes the row over meanwhile
            await adminQuery(
              `UPDATE ${table} SET lease_owner = 'someone-else', deliveries = deliveries + 1`,
            );
          },
        })
        .pipe(toArray()),
    );
    expect(outcome?.status).to.equal('released');
    expect(await effectsOf(effects)).to.deep.equal([]);
    expect(await queuedIds(table)).to.deep.equal(['a']);
  });

  it('writes outbox rows only with a committed transaction (property: any mix of successes and failures)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), async (fails) => {
        const ids = fails.map((_, index) => `t${String(index).padStart(2, '0')}`);
        const { queue, effects, table } = await setUp(ids);
        const outbox = new PostgresConnector({
          connection: { url: testUrl },
          table: `${table}_outbox`,
        });
        connectors.push(outbox);
        await outbox.migrate();
        await lastValueFrom(
          transactional(queue, { outbox })
            .consume(
              {
                process: async (tx: Transaction<{ n: number }>, { db, outbox: out }) => {
                  await db.query(`INSERT INTO ${effects} (id) VALUES ($1)`, [tx.id]);
                  await out.send([createTransaction({ of: tx.id }, { id: `out-${tx.id}` })]);
                  if (fails[tx.payload.n] === true) throw new Error('failed after sending');
                },
              },
              { loop: { concurrency: { value: 4 } } },
            )
            .pipe(toArray()),
        );
        const committed = ids.filter((_, index) => fails[index] !== true);
        expect(await effectsOf(effects)).to.deep.equal(committed);
        expect(await queuedIds(`${table}_outbox`)).to.deep.equal(
          committed.map((id) => `out-${id}`),
        );
        await queue.close();
        await outbox.close();
        await dropQueue(table);
        await dropQueue(`${table}_outbox`);
      }),
      { numRuns: 8 },
    );
  });

  it('refuses a connector that cannot ack in the transaction when no inbox is given', () => {
    expect(() => transactional(new MemoryConnector({ source: [] }))).to.throw(
      EffectivelyOnceError,
      /give an inbox/,
    );
  });
});
