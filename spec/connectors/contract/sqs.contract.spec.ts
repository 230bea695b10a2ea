import { SqsTarget } from '../../../faults/brokers/sqs-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('SqsConnector', {
  service: 'elasticmq',
  target: () => SqsTarget.open(undefined, { maxDeliveries: 5, leaseMs: 1000 }),
  lacks: {
    orderPerKey:
      'a standard SQS queue delivers in no guaranteed order (a FIFO queue keeps it per message group)',
  },
});

describeConnectorContract('SqsConnector on a FIFO queue', {
  service: 'elasticmq',
  target: () => SqsTarget.open(undefined, { maxDeliveries: 5, leaseMs: 1000 }, { fifo: true }),
});
