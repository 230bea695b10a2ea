import { KafkaTarget } from '../../../faults/brokers/kafka-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('KafkaConnector', {
  service: 'kafka',
  target: () => Promise.resolve(new KafkaTarget(undefined, { maxDeliveries: 5, leaseMs: 3000 })),
});
