import { PostgresTarget } from '../../../faults/brokers/postgres-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('PostgresConnector', {
  service: 'postgres',
  target: () => Promise.resolve(new PostgresTarget(undefined, { maxDeliveries: 5, leaseMs: 1000 })),
});
