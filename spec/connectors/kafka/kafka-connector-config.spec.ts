import { expect } from 'chai';
import { PolicyError } from '../../../lib/index.js';
import { jsonCodec } from '../../../lib/core/payload-codec.js';
import { kafkaConnectorConfig } from '../../../lib/connectors/kafka/index.js';

describe('kafkaConnectorConfig', () => {
  it('fills defaults', () => {
    expect(kafkaConnectorConfig({ topic: 'orders' })).to.deep.equal({
      brokers: ['127.0.0.1:9092'],
      clientId: 'ergon-rx',
      topic: 'orders',
      group: null,
      deadLetterTopic: null,
      createTopics: true,
      partitions: 1,
      replicationFactor: null,
      startFrom: 'earliest',
      fetchWait: 500,
      prefetch: 512,
      partitionFetchBytes: 1_048_576,
      commitInterval: 100,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      drainTimeout: 10_000,
      connectTimeout: 10_000,
      reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 10_000, jitter: 'equal' },
      codec: jsonCodec,
    });
  });

  it('takes environment-style strings: a comma-separated broker list, durations, numbers', () => {
    const config = kafkaConnectorConfig({
      topic: 'orders',
      brokers: 'kafka-1:9092, kafka-2:9092',
      fetchWait: '2s',
      drainTimeout: '0',
      partitions: '6',
      startFrom: ' LATEST ',
    });
    expect(config.brokers).to.deep.equal(['kafka-1:9092', 'kafka-2:9092']);
    expect(config.fetchWait).to.equal(2000);
    expect(config.drainTimeout).to.equal(0);
    expect(config.partitions).to.equal(6);
    expect(config.startFrom).to.equal('latest');
  });

  it('names every wrong path, unknown keys included', () => {
    let error: unknown;
    try {
      kafkaConnectorConfig({
        topic: 'has space',
        brokers: ['no-port'],
        partitions: 0,
        drainTimeout: '-1s',
        ...({ groupId: 'x' } as object),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(PolicyError);
    const paths = (error as PolicyError).issues.map((issue) => issue.path).sort();
    expect(paths).to.deep.equal(['brokers', 'drainTimeout', 'groupId', 'partitions', 'topic']);
  });

  it('refuses a heartbeat longer than the session timeout', () => {
    expect(() =>
      kafkaConnectorConfig({ topic: 'orders', sessionTimeout: '1s', heartbeatInterval: '2s' }),
    ).to.throw(PolicyError, /heartbeatInterval: expected at most sessionTimeout \(1000 ms\)/);
  });
});
