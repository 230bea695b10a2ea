import { expect } from 'chai';
import { createTransaction, DispatchConflictError } from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { dropQueue, queuedIds, testUrl } from './fixtures/queue-fixture.js';

/** Issue 13: the dispatch signal, and identity across connectors (real PostgreSQL). */
describe('PostgresConnector — dispatch signal and identity (real PostgreSQL)', function () {
  this.timeout(20_000);
  const table = uniqueName('ergon_pg_dispatch');
  let connector: PostgresConnector<{ v: number }>;

  before(async function () {
    await requireService(this, 'postgres');
    connector = new PostgresConnector<{ v: number }>({
      connection: { url: testUrl, applicationName: uniqueName('ergon_pg_app') },
      table,
    });
    await connector.migrate();
  });

  after(async () => {
    await connector?.close();
    await dropQueue(table);
  });

  it('a second transaction with a queued id and another payload fails with DispatchConflictError; the first stays', async () => {
    const first = createTransaction({ v: 1 }, { id: 'conflict-1' });
    const second = createTransaction({ v: 2 }, { id: 'conflict-1' });
    expect((await connector.dispatch([first])).failed).to.deep.equal([]);
    const report = await connector.dispatch([second]);
    expect(report.failed).to.have.length(1);
    expect(report.failed[0]?.transaction).to.equal(second);
    expect(report.failed[0]?.error).to.be.instanceOf(DispatchConflictError);
    expect((report.failed[0]?.error as Error).message).to.match(
      /conflict-1.*different transaction/,
    );
    const retry = await connector.dispatch([createTransaction({ v: 1 }, { id: 'conflict-1' })]);
    expect(retry.failed, 'the same payload again is an idempotent success').to.deep.equal([]);
  });

  it('two transactions with one id and different payloads in one batch: the second is reported', async () => {
    const report = await connector.dispatch([
      createTransaction({ v: 1 }, { id: 'in-batch' }),
      createTransaction({ v: 2 }, { id: 'in-batch' }),
    ]);
    expect(report.failed.map((f) => f.transaction.payload.v)).to.deep.equal([2]);
    expect(report.failed[0]?.error).to.be.instanceOf(DispatchConflictError);
  });

  it('a batch whose signal aborted before it started is not inserted: rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    const error = await connector
      .dispatch([createTransaction({ v: 1 }, { id: 'aborted-1' })], { signal: controller.signal })
      .then(
        () => null,
        (failure: unknown) => failure,
      );
    expect(error).to.equal(reason);
    expect(await queuedIds(table)).to.not.include('aborted-1');
  });
});
