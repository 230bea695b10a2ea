import { RedisTarget } from '../../../faults/brokers/redis-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('RedisConnector', {
  service: 'redis',
  target: () => Promise.resolve(new RedisTarget(undefined, { maxDeliveries: 5, leaseMs: 1000 })),
});
