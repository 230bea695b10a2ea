import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTransaction } from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { startWorker, idsIn, type WorkerProcess } from '../../support/worker-process.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { adminQuery, dropQueue, eventually, queuedIds, testUrl } from './fixtures/queue-fixture.js';

const workerScript = fileURLToPath(new URL('./fixtures/consumer-worker.ts', import.meta.url));

describe('PostgresConnector across processes (real PostgreSQL)', function () {
  this.timeout(40_000);
  let directory: string;
  let producer: PostgresConnector;
  const tables: string[] = [];
  const workers: WorkerProcess[] = [];

  before(async function () {
    await requireService(this, 'postgres');
    directory = mkdtempSync(join(tmpdir(), 'ergon-pg-'));
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null)
        worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await producer?.close();
  });

  after(async () => {
    for (const table of tables) await dropQueue(table);
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  async function fill(table: string, count: number): Promise<string[]> {
    tables.push(table);
    producer = new PostgresConnector({ connection: { url: testUrl }, table });
    await producer.migrate();
    const sent = Array.from({ length: count }, (_, n) =>
      createTransaction({ n }, { id: `${table}-${n}` }),
    );
    expect((await producer.dispatch(sent)).failed).to.deep.equal([]);
    return sent.map((tx) => tx.id);
  }

  it('two consumer processes share one table without processing any row twice', async () => {
    const table = uniqueName('ergon_pg_two');
    tables.push(table);
    const files = [join(directory, 'two-a.ids'), join(directory, 'two-b.ids')];
    const pair = files.map((file) =>
      startWorker(workerScript, [table, file, 30_000, 5, 'continuous']),
    );
    workers.push(...pair);
    await Promise.all(pair.map((worker) => worker.ready));
    const ids = await fill(table, 600);
    await eventually(async () => (await queuedIds(table)).length === 0, 30_000, 'an empty table');
    for (const worker of pair) worker.child.kill('SIGTERM');
    expect(await Promise.all(pair.map((worker) => worker.exited))).to.deep.equal([0, 0]);
    const [a, b] = files.map(idsIn) as [string[], string[]];
    expect(a.length, 'first worker processed some').to.be.above(0);
    expect(b.length, 'second worker processed some').to.be.above(0);
    expect(new Set(a).size).to.equal(a.length);
    expect(new Set(b).size).to.equal(b.length);
    const inBoth = a.filter((id) => new Set(b).has(id));
    expect(inBoth).to.deep.equal([]);
    expect([...a, ...b].sort()).to.deep.equal([...ids].sort());
  });

  it('a consumer killed with SIGKILL mid-batch loses nothing: its leases expire and a restart takes them', async () => {
    const table = uniqueName('ergon_pg_kill');
    const files = [join(directory, 'kill-1.ids'), join(directory, 'kill-2.ids')];
    const ids = await fill(table, 300);
    const first = startWorker(workerScript, [table, files[0] as string, 1000, 20, 'batch']);
    workers.push(first);
    await eventually(() => idsIn(files[0] as string).length >= 50, 20_000, 'first worker progress');
    first.child.kill('SIGKILL');
    await first.exited;
    const leased = await adminQuery<{ n: number }>(
      `SELECT count(*)::int AS n FROM public."${table}" WHERE lease_owner IS NOT NULL`,
    );
    expect(leased[0]?.n, 'rows leased by the killed worker').to.be.above(0);

    const second = startWorker(workerScript, [table, files[1] as string, 1000, 0, 'batch']);
    workers.push(second);
    await eventually(async () => (await queuedIds(table)).length === 0, 30_000, 'an empty table');
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
    const processed = new Set([...idsIn(files[0] as string), ...idsIn(files[1] as string)]);
    expect([...processed].sort()).to.deep.equal([...ids].sort());
  });
});
