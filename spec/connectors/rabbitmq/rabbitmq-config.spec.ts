import { expect } from 'chai';
import { PolicyError } from '../../../lib/index.js';
import {
  rabbitmqConnectionConfig,
  rabbitmqConnectorConfig,
  RabbitmqConnector,
  redactAmqpUrl,
  type RabbitmqConnectorConfigInput,
} from '../../../lib/connectors/rabbitmq/index.js';
import {
  connectorTopology,
  queueArguments,
} from '../../../lib/connectors/rabbitmq/internal/rabbitmq-topology.js';

function policyError(input: unknown): PolicyError {
  try {
    rabbitmqConnectorConfig(input as RabbitmqConnectorConfigInput);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

function pathsOf(error: PolicyError): string[] {
  return error.issues.map((issue) => issue.path);
}

describe('RabbitMQ connector config', () => {
  it('fills defaults and derives the dead-letter names and publish routing key from the queue', () => {
    const config = rabbitmqConnectorConfig({ queue: 'orders' });
    expect(config).to.deep.equal({
      connection: {
        url: 'amqp://guest:guest@localhost:5672/',
        connectionName: 'ergon-rx',
        heartbeat: 30_000,
        connectTimeout: 10_000,
        reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 10_000, jitter: 'equal' },
      },
      queue: 'orders',
      queueType: 'quorum',
      queueArguments: {},
      declare: true,
      singleActiveConsumer: false,
      exchanges: [],
      bindings: [],
      deadLetter: { exchange: 'orders.dlx', queue: 'orders.dlq', routingKey: 'orders' },
      maxPriority: null,
      prefetch: null,
      fetchWait: 1000,
      maxDeliveries: 5,
      consumerTimeout: 1_800_000,
      publish: { exchange: '', routingKey: 'orders', persistent: true },
    });
  });

  it("takes consumerTimeout from the queue's x-consumer-timeout, or as given", () => {
    const fromQueue = rabbitmqConnectorConfig({
      queue: 'orders',
      queueArguments: { 'x-consumer-timeout': 60_000 },
    });
    expect(fromQueue.consumerTimeout).to.equal(60_000);
    expect(
      rabbitmqConnectorConfig({ queue: 'orders', consumerTimeout: '5m' }).consumerTimeout,
    ).to.equal(300_000);
    expect(rabbitmqConnectorConfig(fromQueue)).to.deep.equal(fromQueue);
  });

  it('decodes a decoded config to an equal config', () => {
    const config = rabbitmqConnectorConfig({
      queue: 'orders',
      deadLetter: false,
      exchanges: [{ name: 'shop' }],
      bindings: [{ exchange: 'shop', routingKey: 'order.*' }],
      prefetch: '16',
      fetchWait: '250ms',
    });
    expect(rabbitmqConnectorConfig(config)).to.deep.equal(config);
    expect(config.exchanges).to.deep.equal([
      { name: 'shop', type: 'topic', durable: true, autoDelete: false, arguments: {} },
    ]);
    expect(config.prefetch).to.equal(16);
    expect(config.fetchWait).to.equal(250);
  });

  it('rejects a bad URL, a missing queue and a zero prefetch, naming each path', () => {
    const error = policyError({
      connection: { url: 'http://guest:secret@localhost' },
      prefetch: 0,
    });
    expect(pathsOf(error)).to.have.members(['connection.url', 'queue', 'prefetch']);
    expect(error.message).to.include('connection.url: expected amqp:// or amqps:// URL');
    expect(error.message).to.include('prefetch: expected positive integer or null, got 0');
    expect(error.message).to.include('queue: expected queue name');
    expect(error.message, 'the password is masked').not.to.include('secret');
  });

  it('rejects unknown keys with a hint, bad exchanges and zero maxDeliveries', () => {
    const error = policyError({
      queue: 'orders',
      prefech: 3,
      exchanges: [{ type: 'topic' }],
      maxDeliveries: 0,
      queueType: 'stream',
    });
    expect(pathsOf(error)).to.have.members([
      'prefech',
      'exchanges.0.name',
      'maxDeliveries',
      'queueType',
    ]);
    expect(error.message).to.include('did you mean "prefetch"?');
  });

  it('builds a quorum queue with a dead-letter exchange and no broker-side delivery limit', () => {
    const config = rabbitmqConnectorConfig({
      queue: 'orders',
      maxDeliveries: 3,
      bindings: [{ exchange: 'shop' }],
      exchanges: [{ name: 'shop', type: 'topic' }],
    });
    expect(queueArguments(config)).to.deep.equal({
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'orders.dlx',
      'x-dead-letter-routing-key': 'orders',
    });
    const topology = connectorTopology(config);
    expect(topology.exchanges.map((exchange) => exchange.name)).to.deep.equal([
      'shop',
      'orders.dlx',
    ]);
    expect(topology.queues.map((queue) => queue.name)).to.deep.equal(['orders.dlq', 'orders']);
    expect(topology.bindings).to.deep.equal([
      { queue: 'orders.dlq', exchange: 'orders.dlx', routingKey: 'orders', arguments: {} },
      { queue: 'orders', exchange: 'shop', routingKey: '#', arguments: {} },
    ]);
  });

  it('only checks the queue when declare is off; a classic queue has no delivery limit', () => {
    const passive = connectorTopology(rabbitmqConnectorConfig({ queue: 'orders', declare: false }));
    expect(passive).to.deep.include({ passive: true, exchanges: [], bindings: [] });
    const classic = rabbitmqConnectorConfig({ queue: 'orders', queueType: 'classic' });
    expect(queueArguments(classic)).to.deep.equal({
      'x-dead-letter-exchange': 'orders.dlx',
      'x-dead-letter-routing-key': 'orders',
    });
  });

  it('singleActiveConsumer: true declares the queue with x-single-active-consumer', () => {
    const config = rabbitmqConnectorConfig({ queue: 'orders.p0', singleActiveConsumer: 'yes' });
    expect(config.singleActiveConsumer).to.equal(true);
    expect(queueArguments(config)).to.deep.equal({
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'orders.p0.dlx',
      'x-dead-letter-routing-key': 'orders.p0',
      'x-single-active-consumer': true,
    });
    expect(queueArguments(rabbitmqConnectorConfig({ queue: 'orders' }))).to.not.have.property(
      'x-single-active-consumer',
    );
  });

  it('lets a publish-only connector (queue null) route to an exchange', () => {
    const config = rabbitmqConnectorConfig({
      queue: null,
      publish: { exchange: 'shop', routingKey: 'order.new' },
    });
    expect(config.deadLetter).to.equal(false);
    expect(config.publish).to.deep.equal({
      exchange: 'shop',
      routingKey: 'order.new',
      persistent: true,
    });
  });

  it('throws the PolicyError from the connector constructor too', () => {
    expect(() => new RabbitmqConnector({ queue: 'orders', prefetch: 0 })).to.throw(
      PolicyError,
      'prefetch',
    );
  });

  it('decodes the connection config on its own and masks passwords in URLs', () => {
    expect(rabbitmqConnectionConfig({ heartbeat: '15s' }).heartbeat).to.equal(15_000);
    expect(() => rabbitmqConnectionConfig({ connectTimeout: 0 })).to.throw(
      PolicyError,
      'connectTimeout',
    );
    expect(redactAmqpUrl('amqp://app:s3cret@rabbit:5672/shop')).to.equal(
      'amqp://app:***@rabbit:5672/shop',
    );
  });
});
