import { NatsTarget } from '../../../faults/brokers/nats-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('NatsConnector', {
  service: 'nats',
  target: () => NatsTarget.open(undefined, { maxDeliveries: 5, leaseMs: 1000 }),
});
