import { RabbitmqTarget } from '../../../faults/brokers/rabbitmq-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('RabbitmqConnector', {
  service: 'rabbitmq',
  target: () => Promise.resolve(new RabbitmqTarget()),
});
