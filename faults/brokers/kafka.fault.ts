import { requireService } from '../../spec/support/real-service.js';
import { startPrivateKafka } from '../support/private-kafka.js';
import { describeBrokerFaults } from './broker-faults.js';
import { KafkaTarget } from './kafka-target.js';

describe('Kafka under faults', function () {
  before(async function () {
    await requireService(this, 'kafka');
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    broker: 'kafka',
    lacks: ['serverSideCut', 'deliveryLimit'],
    // The redelivery clock of a group is its session timeout (leaseMs), which heartbeats keep
    // from running out while a handler works.
    sharedTarget: (settings) =>
      Promise.resolve(
        new KafkaTarget(undefined, {
          maxDeliveries: settings?.maxDeliveries ?? 5,
          leaseMs: Math.max(settings?.leaseMs ?? 3000, 3000),
        }),
      ),
    redeliveryClock: () =>
      Promise.resolve({
        target: new KafkaTarget(undefined, { maxDeliveries: 5, leaseMs: 2000 }),
        clockMs: 2000,
      }),
    privateBroker: startPrivateKafka,
    privateTarget: (broker) => Promise.resolve(new KafkaTarget(broker.url)),
  });
});
