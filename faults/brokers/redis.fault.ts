import { requireService } from '../../spec/support/real-service.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { describeBrokerFaults } from './broker-faults.js';
import { RedisTarget } from './redis-target.js';

describe('Redis Streams under faults', function () {
  before(async function () {
    await requireService(this, 'redis');
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    broker: 'redis',
    sharedTarget: (settings) => Promise.resolve(new RedisTarget(undefined, settings)),
    privateBroker: startPrivateRedis,
    privateTarget: (broker) => Promise.resolve(new RedisTarget(broker.url)),
  });
});
