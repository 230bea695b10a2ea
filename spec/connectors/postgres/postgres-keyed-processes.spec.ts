import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { createTransaction, type Transaction } from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { startWorker, type WorkerProcess } from '../../support/worker-process.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { adminQuery, dropQueue, eventually, queuedIds, testUrl } from './fixtures/queue-fixture.js';

const workerScript = fileURLToPath(
  new URL('./fixtures/keyed-worker.ts', import.meta.url),
); /** One event of the results table, in the order of its identity column. */
interface Event {
  readonly event: 'start' | 'end';
  readonly pid: number;
  readonly key: string;
  readonly n: number;
  readonly attempt: number;
  readonly delivery: number;
}

const keys = 50;
const perKey = 20;

describe('PostgresConnector — order per key across processes (real PostgreSQL)', function () {
  this.timeout(40_000);
  const workers: WorkerProcess[] = [];
  let table = '';
  let results = '';
  let producer: PostgresConnector<{ n: number }> | undefined;

  before(async function () {
    await requireService(this, 'postgres');
  });

  after(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null)
        worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await producer?.close();
    if (table !== '') await dropQueue(table);
    if (results !== '') await adminQuery(`DROP TABLE IF EXISTS public."${results}"`);
  });

  it('two worker processes with a keyed task process every transaction once, and each key in dispatch order, one at a time', async () => {
    table = uniqueName('ergon_pg_keyed_procs');
    results = `${table}_results`;
    await adminQuery(`CREATE TABLE public."${results}" (
  at bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event text NOT NULL, pid integer NOT NULL, key text NOT NULL, n integer NOT NULL,
  attempt integer NOT NULL, delivery integer NOT NULL
)`);
    producer = new PostgresConnector<{ n: number }>({ connection: { url: testUrl }, table });
    await producer.migrate();
    const pair = [
      startWorker(workerScript, [table, results]),
      startWorker(workerScript, [table, results]),
    ];
    workers.push(...pair);
    await Promise.all(pair.map((worker) => worker.ready));

    // Dispatched while the workers run: rounds of one transaction per key, each round's keys
    // in a random order, 50 rows per statement.
    const dispatched = new Map<string, number[]>();
    for (let n = 0; n < perKey; n++) {
      const round: Transaction<{ n: number }>[] = [];
      const shuffled = Array.from({ length: keys }, (_, k) => `key-${k}`).sort(
        () => Math.random() - 0.5,
      );
      for (const key of shuffled) {
        round.push(createTransaction({ n }, { id: `${key}-${n}`, metadata: { key } }));
        dispatched.set(key, [...(dispatched.get(key) ?? []), n]);
      }
      expect((await producer.dispatch(round)).failed).to.deep.equal([]);
    }
    await eventually(async () => (await queuedIds(table)).length === 0, 30_000, 'an empty table');
    for (const worker of pair) worker.child.kill('SIGTERM');
    expect(await Promise.all(pair.map((worker) => worker.exited))).to.deep.equal([0, 0]);

    const events = await adminQuery<Event>(
      `SELECT event, pid, key, n, attempt, delivery FROM public."${results}" ORDER BY at`,
    );
    const dead = await adminQuery(`SELECT id FROM public."${table}_dead"`);
    expect(dead, 'nothing dead-lettered').to.deep.equal([]);
    const byKey = new Map<string, Event[]>();
    for (const event of events) byKey.set(event.key, [...(byKey.get(event.key) ?? []), event]);
    expect(byKey.size).to.equal(keys);
    let retried = 0;
    let handedOver = 0;
    for (const [key, ofKey] of byKey) {
      // One attempt at a time per key, across both processes: start, end, start, end, …
      for (let i = 0; i < ofKey.length; i += 2) {
        const [start, end] = [ofKey[i], ofKey[i + 1]];
        expect(start?.event, `${key} event ${i}`).to.equal('start');
        expect(end, `${key} event ${i + 1}`).to.deep.include({
          event: 'end',
          pid: start?.pid,
          n: start?.n,
          attempt: start?.attempt,
        });
      }
      const starts = ofKey.filter((event) => event.event === 'start');
      // Each transaction delivered once (its retries ran in the process that had it).
      expect(
        starts.every((event) => event.delivery === 1),
        `${key}: one delivery each`,
      ).to.equal(true);
      const order = starts
        .filter((event, i) => i === 0 || starts[i - 1]?.n !== event.n)
        .map((event) => event.n);
      expect(order, `${key}: processing order`).to.deep.equal(dispatched.get(key));
      retried += starts.filter((event) => event.attempt > 1).length;
      if (new Set(starts.map((event) => event.pid)).size > 1) handedOver++;
    }
    const pids = new Set(events.map((event) => event.pid));
    expect(pids.size, 'both processes worked').to.equal(2);
    expect(retried, 'some attempts failed and were retried').to.be.above(0);
    expect(handedOver, 'keys whose transactions ran in both processes').to.be.above(0);
  });
});
