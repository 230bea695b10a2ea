import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { createTransaction, DispatchConflictError } from '../../../lib/index.js';
import type { NatsConnector } from '../../../lib/connectors/nats/index.js';
import { natsSuite } from './fixtures/nats-suite.js';

type Payload = { n: number };

/** Issue 13: the dispatch signal, and identity across connectors (real NATS JetStream). */
describe('NatsConnector — dispatch signal and identity (real NATS JetStream)', function () {
  this.timeout(20_000);
  const suite = natsSuite(250);

  function connector(): NatsConnector<Payload> {
    return suite.connector<Payload>({ stream: suite.admin.streamName() });
  }

  it('a second transaction with the same id and another payload fails with DispatchConflictError; a retry of the same payload succeeds', async () => {
    const nats = connector();
    const first = createTransaction({ n: 1 }, { id: 'same-id' });
    expect((await nats.dispatch([first])).failed).to.deep.equal([]);
    const other = createTransaction({ n: 2 }, { id: 'same-id' });
    const report = await nats.dispatch([other, createTransaction({ n: 1 }, { id: 'same-id' })]);
    expect(report.failed.map((f) => f.transaction)).to.deep.equal([other]);
    expect(report.failed[0]?.error).to.be.instanceOf(DispatchConflictError);
    expect(await lastValueFrom(nats.count())).to.equal(1);
  });

  it('two transactions with one id and different payloads in one batch: one is reported', async () => {
    const nats = connector();
    const report = await nats.dispatch([
      createTransaction({ n: 1 }, { id: 'batch-id' }),
      createTransaction({ n: 2 }, { id: 'batch-id' }),
    ]);
    expect(report.failed).to.have.length(1);
    expect(report.failed[0]?.error).to.be.instanceOf(DispatchConflictError);
  });

  it('a batch whose signal aborted before publishing is not published: rejects with the reason', async () => {
    const nats = connector();
    const controller = new AbortController();
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    const error = await nats
      .dispatch([createTransaction({ n: 1 }, { id: 'aborted' })], { signal: controller.signal })
      .then(
        () => null,
        (failure: unknown) => failure,
      );
    expect(error).to.equal(reason);
    expect((await nats.dispatch([])).failed).to.deep.equal([]);
    expect(await lastValueFrom(nats.count())).to.equal(0);
  });
});
