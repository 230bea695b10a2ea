import { connect } from 'amqplib';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  createTransaction,
  DeliveryLostError,
  TransactionError,
  type Logger,
  type Transaction,
} from '../../../lib/index.js';
import {
  RabbitmqConnector,
  RabbitmqDeadLetterError,
  RabbitmqTopologyError,
  type RabbitmqConnectorConfigInput,
} from '../../../lib/connectors/rabbitmq/index.js';
import { startPrivateRabbitmq } from '../../../faults/support/private-rabbitmq.js';
import type { PrivateBroker } from '../../../faults/support/private-broker.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl, fillUp } from './fixtures/broker.js';

function fetchOnce<P>(connector: RabbitmqConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const failure = new TransactionError('cannot ship', { category: 'business', stage: 'process' });

/** A logger that keeps what it was given. */
function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (...args: unknown[]): void => {
    lines.push(args.map(String).join(' '));
  };
  return { lines, trace: keep, debug: keep, info: keep, warn: keep, error: keep };
}

describe('RabbitmqConnector: dead-letter targets that refuse (against RabbitMQ on 127.0.0.1:5672)', function () {
  this.timeout(20_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const connectors: RabbitmqConnector[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((connector) => connector.close()));
  });

  after(async () => {
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    await probe.close();
  });

  function connectorFor(config: Partial<RabbitmqConnectorConfigInput> = {}): RabbitmqConnector {
    const queue = (config.queue as string | undefined) ?? uniqueName('ergon_rabbitmq');
    if (!queues.includes(queue)) queues.push(queue);
    const connector = new RabbitmqConnector(
      {
        connection: { url: brokerUrl, connectionName: 'ergon spec' },
        fetchWait: 200,
        ...config,
        queue,
      },
      { logger: recordingLogger() },
    );
    connectors.push(connector);
    return connector;
  }

  it('a full dead-letter queue loses nothing: messages past maxDeliveries stay queued until it has room', async () => {
    const connector = connectorFor({ maxDeliveries: 2 });
    const queue = connector.config.queue as string;
    await connector.declare();
    const sent = ['a', 'b', 'c'].map((id) => createTransaction({ id }, { id }));
    await connector.dispatch(sent);
    const emptyAgain = await fillUp(`${queue}.dlq`);
    try {
      for (let round = 1; round <= 3; round++) {
        const fetched = await fetchOnce(connector, 3);
        const settled = await Promise.allSettled(
          fetched.map(async (tx) => connector.settle(tx, { type: 'deadLetter', error: failure })),
        );
        for (const result of settled) {
          expect(result.status).to.equal('rejected');
          expect((result as PromiseRejectedResult).reason).to.be.instanceOf(
            RabbitmqDeadLetterError,
          );
        }
      }
      await connector.close();
      expect(await probe.settledCount(queue, 3), 'still in the queue').to.equal(3);
    } finally {
      await emptyAgain();
    }
    // Each arrives past maxDeliveries: never handed out, moved to the dead-letter queue in the
    // background. On a loaded machine they may take more than one fetch to arrive.
    const after = connectorFor({ queue, maxDeliveries: 2 });
    const dead: unknown[] = [];
    for (let fetches = 0; dead.length < 3 && fetches < 50; fetches++) {
      expect(await fetchOnce(after, 3), 'past maxDeliveries: not handed out').to.deep.equal([]);
      const moved = await probe.drain(`${queue}.dlq`);
      dead.push(...moved.map((message): unknown => message.properties.messageId));
    }
    await after.close();
    expect(dead.sort()).to.deep.equal(['a', 'b', 'c']);
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('a dead-letter queue deleted while consuming is declared again, and the message reaches it', async () => {
    const connector = connectorFor({ maxDeliveries: 1 });
    const queue = connector.config.queue as string;
    await connector.dispatch([createTransaction({ n: 1 }, { id: 'orphan' })]);
    const [tx] = await fetchOnce(connector, 1);
    await probe.deleteQueue(`${queue}.dlq`);
    await connector.settle(tx as Transaction, { type: 'deadLetter', error: failure });
    const dead = await probe.drain(`${queue}.dlq`);
    expect(dead.map((message): unknown => message.properties.messageId)).to.deep.equal(['orphan']);
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });
  it('says how to go on when the queue was declared with x-delivery-limit by an earlier version', async () => {
    const queue = uniqueName('ergon_rabbitmq');
    queues.push(queue);
    const model = await connect(brokerUrl);
    try {
      const channel = await model.createChannel();
      await channel.assertQueue(queue, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': 4,
          'x-dead-letter-exchange': `${queue}.dlx`,
          'x-dead-letter-routing-key': queue,
        },
      });
    } finally {
      await model.close();
    }
    let failure: unknown;
    await connectorFor({ queue })
      .declare()
      .catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(RabbitmqTopologyError);
    expect((failure as Error).message).to.include("queueArguments: { 'x-delivery-limit': n }");
    const kept = connectorFor({ queue, queueArguments: { 'x-delivery-limit': 4 } });
    await kept.declare();
  });
});

describe('RabbitmqConnector past the broker consumer_timeout (a private RabbitMQ node)', function () {
  this.timeout(180_000);
  let broker: PrivateBroker;
  const consumerTimeout = 3000;

  before(async function () {
    await requireService(this, 'rabbitmq');
    broker = await startPrivateRabbitmq({
      rabbit: { consumer_timeout: consumerTimeout, channel_tick_interval: 200 },
    });
  });

  after(async () => {
    await broker?.dispose();
  });

  it('releases only the overdue delivery before the timeout: the channel and every other delivery stay', async () => {
    const logger = recordingLogger();
    const queue = uniqueName('ergon_rabbitmq');
    const connector = new RabbitmqConnector(
      { connection: { url: broker.url }, queue, fetchWait: 200, consumerTimeout },
      { logger },
    );
    try {
      await connector.dispatch([createTransaction({ id: 'slow' }, { id: 'slow' })]);
      const [slow] = (await fetchOnce(connector, 5)) as [Transaction];
      await sleep(2000);
      await connector.dispatch([createTransaction({ id: 'quick' }, { id: 'quick' })]);
      const [quick] = (await fetchOnce(connector, 5)) as [Transaction];
      // `slow` is now past the broker's timeout; `quick` (2 s old) finishes and is acked.
      await sleep(2000);
      await connector.settle(quick, { type: 'ack' });
      let lost: unknown;
      try {
        await connector.settle(slow, { type: 'ack' });
      } catch (error) {
        lost = error;
      }
      expect(lost).to.be.instanceOf(DeliveryLostError);
      expect((lost as Error).message).to.match(/consumer_timeout/);
      expect(logger.lines.join('\n')).to.match(/consumer_timeout/);
      const again = await fetchOnce(connector, 5);
      expect(
        again.map((tx) => tx.id),
        'only the overdue one comes back',
      ).to.deep.equal(['slow']);
      await connector.settle(again[0] as Transaction, { type: 'ack' });
      expect(await lastValueFrom(connector.health())).to.include({ state: 'consuming' });
    } finally {
      await connector.close();
    }
  });

  it('logs the broker closing the channel for a delivery past consumer_timeout, naming it', async () => {
    const logger = recordingLogger();
    const queue = uniqueName('ergon_rabbitmq');
    // Told a longer timeout than the broker's: the broker acts first.
    const connector = new RabbitmqConnector(
      { connection: { url: broker.url }, queue, fetchWait: 200, consumerTimeout: 60_000 },
      { logger },
    );
    try {
      await connector.dispatch([createTransaction({ id: 'late' }, { id: 'late' })]);
      await fetchOnce(connector, 1);
      const deadline = Date.now() + consumerTimeout + 3000;
      while (!/timed out/.test(logger.lines.join('\n')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(logger.lines.join('\n'))
        .to.match(/consumer_timeout/)
        .and.match(/timed out/);
    } finally {
      await connector.close();
    }
  });

  it('warns at the first fetch when transactionRuntime.timeout is not below the consumer timeout', async () => {
    const logger = recordingLogger();
    const queue = uniqueName('ergon_rabbitmq');
    const connector = new RabbitmqConnector(
      { connection: { url: broker.url }, queue, fetchWait: 50, consumerTimeout },
      { logger },
    );
    try {
      await lastValueFrom(
        connector.fetch({ size: 1, extra: {}, transactionTimeout: 60_000 }).pipe(toArray()),
      );
      expect(logger.lines.join('\n')).to.match(/transactionRuntime\.timeout/);
    } finally {
      await connector.close();
    }
  });
});
