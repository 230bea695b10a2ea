import { requireService } from '../../spec/support/real-service.js';
import { startPrivateRabbitmq } from '../support/private-rabbitmq.js';
import { describeBrokerFaults } from './broker-faults.js';
import { RabbitmqTarget } from './rabbitmq-target.js';

describe('RabbitMQ under faults', function () {
  before(async function () {
    await requireService(this, 'rabbitmq');
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    broker: 'rabbitmq',
    sharedTarget: (settings) => Promise.resolve(new RabbitmqTarget(undefined, settings)),
    privateBroker: startPrivateRabbitmq,
    privateTarget: (broker) => Promise.resolve(new RabbitmqTarget(broker.url)),
  });
});
