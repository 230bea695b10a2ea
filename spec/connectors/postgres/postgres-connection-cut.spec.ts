import { expect } from 'chai';
import { firstValueFrom, Subject } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  dropQueue,
  eventually,
  queuedIds,
  terminateBackends,
  testUrl,
} from './fixtures/queue-fixture.js';

describe('PostgresConnector survives pg_terminate_backend (real PostgreSQL)', function () {
  this.timeout(30_000);
  const table = uniqueName('ergon_pg_cut');
  const applicationName = uniqueName('ergon_cut');
  let consumer: PostgresConnector<{ n: number }>;
  let producer: PostgresConnector<{ n: number }>;

  before(async function () {
    await requireService(this, 'postgres');
    // fetchWait is long on purpose: work that arrives after the cut is only picked up quickly
    // if the LISTEN connection came back and NOTIFY wakes the waiting fetch.
    consumer = new PostgresConnector({
      connection: { url: testUrl, applicationName, reconnect: { backoff: 50, backoffCap: 500 } },
      table,
      fetchWait: 20_000,
    });
    producer = new PostgresConnector({
      connection: { url: testUrl, applicationName: uniqueName('ergon_cut_producer') },
      table,
    });
    await consumer.migrate();
  });

  after(async () => {
    await Promise.all([consumer?.close(), producer?.close()]);
    await dropQueue(table);
  });

  it('keeps consuming across killed connections, and loses nothing', async () => {
    const processed = new Map<string, number>();
    const outcomes: Outcome[] = [];
    const stop$ = new Subject<void>();
    let loopError: unknown;
    const done = new Promise<void>((resolve) => {
      consume(
        consumer,
        consumerTask({
          process: async (tx: Transaction<{ n: number }>) => {
            await new Promise((wait) => setTimeout(wait, 2));
            processed.set(tx.id, (processed.get(tx.id) ?? 0) + 1);
          },
        }),
        {
          loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true },
          fetch: { empty: { backoff: 0 } },
        },
        { stop$ },
      ).subscribe({
        next: (outcome) => outcomes.push(outcome),
        error: (error: unknown) => {
          loopError = error;
          resolve();
        },
        complete: resolve,
      });
    });

    const batch = (from: number, count: number): Transaction<{ n: number }>[] =>
      Array.from({ length: count }, (_, i) =>
        createTransaction({ n: from + i }, { id: `cut-${from + i}` }),
      );

    // 1. Cut while work is in flight.
    await producer.dispatch(batch(0, 300));
    await eventually(() => processed.size >= 50, 10_000, 'first work');
    const killed = await terminateBackends(applicationName);
    expect(killed).to.be.at.least(2); // pooled connection(s) and the LISTEN connection
    await eventually(() => processed.size >= 300, 15_000, 'every row of the first batch');

    // 2. Cut while the consumer idles in a fetch that waits for a NOTIFY.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await terminateBackends(applicationName)).to.be.at.least(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await producer.dispatch(batch(300, 100));
    await eventually(() => processed.size >= 400, 10_000, 'rows dispatched after the cut');
    expect(Date.now() - started).to.be.below(5000);

    stop$.next();
    await done;
    expect(loopError).to.equal(undefined);
    expect(await queuedIds(table)).to.deep.equal([]);
    for (let n = 0; n < 400; n++) expect(processed.has(`cut-${n}`), `cut-${n}`).to.equal(true);
    const statuses = new Set(outcomes.map((outcome) => outcome.status));
    // A settle cut off with its connection retried on a new one; at worst it was reported
    // released and delivered again (processed twice), never lost.
    expect([...statuses].every((status) => status === 'success' || status === 'released')).to.equal(
      true,
    );
    expect(await firstValueFrom(consumer.health())).to.include({
      healthy: true,
      state: 'connected',
    });
  });
});
