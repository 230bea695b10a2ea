import { expect } from 'chai';
import fc from 'fast-check';
import { PolicyError } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import {
  delayBucket,
  delayQueueName,
  delayQueueTopology,
} from '../../../lib/connectors/rabbitmq/internal/delay-queues.js';

describe('RabbitMQ delay queues', () => {
  it('property: a bucket is never shorter than the delay, and at most 10 % (and 1 ms) longer', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 3e9, noNaN: true }), (delay) => {
        const bucket = delayBucket(delay);
        expect(bucket).to.be.at.least(delay);
        expect(bucket).to.be.at.most(Math.max(1, Math.ceil(delay) * 1.1 + 1));
        expect(Number.isInteger(bucket)).to.equal(true);
      }),
    );
  });

  it('names the queue after its target and bucket, hashing names too long for RabbitMQ', () => {
    expect(delayQueueName('', 'orders', 1234)).to.equal('orders.delay.1300');
    expect(delayQueueName('shop', 'order.new', 600_000)).to.equal('shop.order.new.delay.600000');
    const long = delayQueueName('', 'q'.repeat(300), 10);
    expect(Buffer.byteLength(long)).to.be.at.most(255);
    expect(long).to.match(/^ergon\.[0-9a-f]{16}\.delay\.10$/);
  });

  it('a delay queue dead-letters back to its target after its one TTL', () => {
    const { topology } = delayQueueTopology('', 'orders', 450);
    expect(topology.queues[0]?.arguments).to.include({
      'x-message-ttl': 450,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'orders',
    });
  });

  it('maxPriority needs a classic queue: a quorum queue is refused with the fix', () => {
    expect(() => new RabbitmqConnector({ queue: 'orders', maxPriority: 9 })).to.throw(
      PolicyError,
      /maxPriority.*queueType: 'classic'/,
    );
    const classic = new RabbitmqConnector({
      queue: 'orders',
      queueType: 'classic',
      maxPriority: 9,
    });
    expect(classic.scheduling.priority).to.equal(true);
    void classic.close();
  });
});
