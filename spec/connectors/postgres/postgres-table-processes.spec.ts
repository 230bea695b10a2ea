import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker, idsIn, type WorkerProcess } from '../../support/worker-process.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { adminQuery, eventually } from './fixtures/queue-fixture.js';

const workerScript = fileURLToPath(new URL('./fixtures/table-worker.ts', import.meta.url));

async function pending(table: string): Promise<number> {
  const [row] = await adminQuery<{ n: number }>(
    `SELECT count(*)::int AS n FROM public."${table}" WHERE status <> 'done'`,
  );
  return row?.n ?? -1;
}

async function claimedRows(table: string): Promise<number> {
  const [row] = await adminQuery<{ n: number }>(
    `SELECT count(*)::int AS n FROM public."${table}" WHERE status = 'processing'`,
  );
  return row?.n ?? -1;
}

describe('PostgresTableConnector across processes (real PostgreSQL)', function () {
  this.timeout(60_000);
  let directory: string;
  const tables: string[] = [];
  const workers: WorkerProcess[] = [];

  before(async function () {
    await requireService(this, 'postgres');
    directory = mkdtempSync(join(tmpdir(), 'ergon-pg-table-'));
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGKILL');
      }
      await worker.exited;
    }
  });

  after(async () => {
    for (const table of tables) await adminQuery(`DROP TABLE IF EXISTS public."${table}"`);
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  async function ordersTable(count: number): Promise<{ table: string; ids: string[] }> {
    const table = uniqueName('ergon_table_proc');
    tables.push(table);
    await adminQuery(`CREATE TABLE public."${table}" (
  id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'pending', claimed_until timestamptz)`);
    await adminQuery(`INSERT INTO public."${table}" (id) SELECT generate_series(1, $1)`, [count]);
    return { table, ids: Array.from({ length: count }, (_, n) => String(n + 1)) };
  }

  it('three worker processes share a table without processing any row twice', async () => {
    const { table, ids } = await ordersTable(600);
    const files = ['a', 'b', 'c'].map((name) => join(directory, `three-${name}.ids`));
    const three = files.map((file) => startWorker(workerScript, [table, file, 30_000, 2]));
    workers.push(...three);
    await Promise.all(three.map((worker) => worker.ready));
    await eventually(async () => (await pending(table)) === 0, 45_000, 'every row done');
    for (const worker of three) worker.child.kill('SIGTERM');
    expect(await Promise.all(three.map((worker) => worker.exited))).to.deep.equal([0, 0, 0]);
    const processed = files.flatMap(idsIn);
    // Shared, not taken by one: on a busy machine a worker may get the CPU only once the other
    // two have done most of the table, so two of three is what can be asked for.
    expect(
      files.filter((file) => idsIn(file).length > 0).length,
      'workers that processed rows',
    ).to.be.at.least(2);
    expect(processed.length, 'rows processed twice').to.equal(new Set(processed).size);
    expect([...processed].sort()).to.deep.equal([...ids].sort());
  });

  it('a worker killed with SIGKILL mid-batch loses nothing: its claims expire and another worker takes them', async () => {
    const { table, ids } = await ordersTable(300);
    const files = [join(directory, 'kill-1.ids'), join(directory, 'kill-2.ids')];
    const first = startWorker(workerScript, [table, files[0] as string, 1000, 20]);
    workers.push(first);
    // Killed mid-batch: once it made progress, at a moment it holds claims.
    await eventually(
      async () => idsIn(files[0] as string).length >= 50 && (await claimedRows(table)) > 0,
      20_000,
      'first worker progress, with rows claimed',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await claimedRows(table), 'rows claimed by the killed worker').to.be.above(0);

    const second = startWorker(workerScript, [table, files[1] as string, 1000, 0]);
    workers.push(second);
    await eventually(async () => (await pending(table)) === 0, 30_000, 'every row done');
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
    const processed = new Set([...idsIn(files[0] as string), ...idsIn(files[1] as string)]);
    expect([...processed].sort()).to.deep.equal([...ids].sort());
  });
});
