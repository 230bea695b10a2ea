import { requireService } from '../../spec/support/real-service.js';
import { startPrivatePostgres } from '../support/private-postgres.js';
import { describeBrokerFaults } from './broker-faults.js';
import { PostgresTarget } from './postgres-target.js';

describe('PostgreSQL queue under faults', function () {
  before(async function () {
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    broker: 'postgres',
    sharedTarget: (settings) => Promise.resolve(new PostgresTarget(undefined, settings)),
    privateBroker: startPrivatePostgres,
    privateTarget: (broker) => Promise.resolve(new PostgresTarget(broker.url)),
  });
});
