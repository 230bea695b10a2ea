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
    targetFaults: ['refuseDeadLetters', 'deleteDeadLetters'],
    broker: 'rabbitmq',
    sharedTarget: (settings) => Promise.resolve(new RabbitmqTarget(undefined, settings)),
    privateBroker: startPrivateRabbitmq,
    privateTarget: (broker) => Promise.resolve(new RabbitmqTarget(broker.url)),
    // consumer_timeout can only be short on a node of its own (RabbitMQ 3.10: no per-queue
    // x-consumer-timeout); the broker checks it every channel tick.
    redeliveryClock: async () => {
      const clockMs = 4000;
      const broker = await startPrivateRabbitmq({
        rabbit: { consumer_timeout: clockMs, channel_tick_interval: 200 },
      });
      const target = new RabbitmqTarget(broker.url, {
        maxDeliveries: 5,
        leaseMs: 0,
        consumerTimeout: clockMs,
      });
      return { target, broker, clockMs, transactionTimeout: 2500 };
    },
  });
});
