import { requireService } from '../../spec/support/real-service.js';
import { startPrivateNats } from '../support/private-nats.js';
import { describeBrokerFaults } from './broker-faults.js';
import { NatsTarget } from './nats-target.js';

describe('NATS JetStream under faults', function () {
  before(async function () {
    await requireService(this, 'nats');
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    targetFaults: ['deleteDeadLetters', 'deleteConsumer'],
    broker: 'nats',
    sharedTarget: (settings) => NatsTarget.open(undefined, settings),
    privateBroker: startPrivateNats,
    privateTarget: (broker) => NatsTarget.open(broker.port),
  });
});
