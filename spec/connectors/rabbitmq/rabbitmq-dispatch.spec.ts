import { expect } from 'chai';
import { createTransaction } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

/**
 * Issue 13 item 9: the RabbitMQ connector honours the dispatch signal (the memory-alarm case,
 * which needs a node of its own, is the fault row "dispatch under broker back-pressure").
 */
describe('RabbitmqConnector — dispatch signal (real RabbitMQ)', function () {
  this.timeout(20_000);
  let probe: BrokerProbe;
  let connector: RabbitmqConnector<{ n: number }>;
  const queue = uniqueName('ergon_rmq_dispatch');

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
    connector = new RabbitmqConnector<{ n: number }>({
      connection: { url: brokerUrl, connectionName: 'ergon dispatch spec' },
      queue,
    });
    await connector.declare();
  });

  after(async () => {
    await connector?.close();
    await probe?.deleteTopology(queue);
    await probe?.close();
  });

  it('a batch whose signal already aborted publishes nothing and rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    const error = await connector
      .dispatch([createTransaction({ n: 1 }), createTransaction({ n: 2 })], {
        signal: controller.signal,
      })
      .then(
        () => null,
        (failure: unknown) => failure,
      );
    expect(error).to.equal(reason);
    expect(await probe.messageCount(queue)).to.equal(0);
  });

  it('a signal aborted mid-batch stops publishing: what was published is confirmed, the rest reported with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('attempt timed out');
    // Aborts while the 100th message is being prepared: messages 0–99 are published.
    const aborting = new RabbitmqConnector<{ n: number }>(
      { connection: { url: brokerUrl, connectionName: 'ergon dispatch spec' }, queue },
      {
        routingKeyOf: (transaction) => {
          if (transaction.payload.n === 99) controller.abort(reason);
          return queue;
        },
      },
    );
    try {
      const batch = Array.from({ length: 1_000 }, (_, n) => createTransaction({ n }));
      const report = await aborting.dispatch(batch, { signal: controller.signal });
      expect(report.failed.map((failure) => failure.transaction.payload.n)).to.deep.equal(
        batch.slice(100).map((transaction) => transaction.payload.n),
      );
      expect(report.failed.every((failure) => failure.error === reason)).to.equal(true);
      expect(await probe.countWhenQuiet(queue)).to.equal(100);
    } finally {
      await aborting.close();
    }
  });
});
