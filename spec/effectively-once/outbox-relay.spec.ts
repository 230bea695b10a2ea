import { expect } from 'chai';
import fc from 'fast-check';
import { lastValueFrom, Subject, take, toArray } from 'rxjs';
import { createTransaction, MemoryConnector, type Transaction } from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { relayOutbox, transactional } from '../../lib/effectively-once/index.js';
import { uniqueName } from '../support/real-service.js';
import { postgresSuite } from '../connectors/postgres/fixtures/postgres-suite.js';
import { dropQueue, queuedIds, testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';

describe('outbox relay (real PostgreSQL)', function () {
  this.timeout(30_000);
  const { tables, connectors } = postgresSuite();

  async function queue<P>(prefix: string): Promise<PostgresConnector<P>> {
    const table = uniqueName(prefix);
    tables.push(table);
    const connector = new PostgresConnector<P>({
      connection: { url: testUrl },
      table,
      fetchWait: 50,
    });
    connectors.push(connector);
    await connector.migrate();
    return connector;
  }

  /** Runs the relay until `count` rows were published. */
  function relay<O>(outbox: PostgresConnector<O>, destination: MemoryConnector<O>, count: number) {
    return lastValueFrom(
      relayOutbox(outbox, destination, {
        loop: { mode: 'continuous', concurrency: { value: 3 }, streaming: true },
        fetch: { batch: { size: 5 }, empty: { backoff: 0 } },
        process: { batch: { size: 5, maxWait: 0 } },
      }).pipe(take(count), toArray()),
    );
  }

  it('publishes exactly the sends of committed transactions, in order per key (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('k1', 'k2', 'k3'), fails: fc.boolean() }), {
          minLength: 1,
          maxLength: 10,
        }),
        async (orders) => {
          const inbound = await queue<{ n: number }>('relay_in');
          const outbox = await queue<{ n: number }>('relay_out');
          await inbound.dispatch(
            orders.map((_, n) =>
              createTransaction({ n }, { id: `in-${String(n).padStart(2, '0')}` }),
            ),
          );
          await lastValueFrom(
            transactional(inbound, { outbox })
              .consume(
                {
                  process: async (tx: Transaction<{ n: number }>, { outbox: out }) => {
                    const order = orders[tx.payload.n]!;
                    await out.send([
                      createTransaction(
                        { n: tx.payload.n },
                        { id: `out-${tx.payload.n}`, metadata: { key: order.key } },
                      ),
                    ]);
                    if (order.fails) throw new Error('rolled back');
                  },
                },
                { loop: { mode: 'batch', concurrency: { value: 1 } } },
              )
              .pipe(toArray()),
          );
          const committed = orders.flatMap((order, n) => (order.fails ? [] : [n]));
          const destination = new MemoryConnector<{ n: number }>({ record: true });
          if (committed.length > 0) await relay(outbox, destination, committed.length);
          const published = destination.dispatched.map((tx) => tx.payload.n);
          expect([...published].sort((a, b) => a - b)).to.deep.equal(committed);
          for (const key of ['k1', 'k2', 'k3']) {
            const ofKey = published.filter((n) => orders[n]!.key === key);
            expect(ofKey).to.deep.equal(committed.filter((n) => orders[n]!.key === key));
          }
          expect(await queuedIds(outbox.config.table)).to.deep.equal([]);
          await Promise.all(connectors.splice(0).map((connector) => connector.close()));
          for (const table of tables.splice(0)) await dropQueue(table);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('publishes what was committed while no relay ran (a crash between commit and publish)', async () => {
    const inbound = await queue<{ n: number }>('relay_in');
    const outbox = await queue<{ n: number }>('relay_out');
    await inbound.dispatch([createTransaction({ n: 1 }, { id: 'in-1' })]);
    await lastValueFrom(
      transactional(inbound, { outbox })
        .consume({
          process: (tx: Transaction<{ n: number }>, { outbox: out }) =>
            out.send([createTransaction({ n: 1 }, { id: `out-${tx.id}` })]),
        })
        .pipe(toArray()),
    );
    expect(await queuedIds(outbox.config.table)).to.deep.equal(['out-in-1']);
    const destination = new MemoryConnector<{ n: number }>({ record: true });
    await relay(outbox, destination, 1);
    expect(destination.dispatched.map((tx) => tx.id)).to.deep.equal(['out-in-1']);
  });

  it('keeps a row the destination refused in the outbox and publishes it later', async () => {
    const outbox = await queue<{ n: number }>('relay_out');
    const tx = createTransaction({ n: 1 }, { id: 'refused-once' });
    await outbox.dispatch([tx]);
    let calls = 0;
    const destination = new MemoryConnector<{ n: number }>({
      record: true,
      onDispatch: () => {
        calls += 1;
        if (calls === 1) throw new Error('destination down');
        return undefined;
      },
    });
    const stop$ = new Subject<void>();
    const outcomes = await lastValueFrom(
      relayOutbox(
        outbox,
        destination,
        { loop: { streaming: true }, fetch: { empty: { backoff: 0 } } },
        { stop$ },
      ).pipe(take(2), toArray()),
    );
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['released', 'success']);
    expect(destination.dispatched.map((published) => published.id)).to.deep.equal(['refused-once']);
  });
});
