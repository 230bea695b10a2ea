import { S3Target } from '../../../faults/brokers/s3-target.js';
import { describeConnectorContract } from './connector-contract.js';

describeConnectorContract('S3Connector', {
  service: 's3',
  target: () => S3Target.open(undefined, { maxDeliveries: 5, leaseMs: 2000 }),
  lacks: {
    orderPerKey:
      'objects are listed by name, not in the order they were written (the lines of one JSON-lines object keep theirs)',
  },
});
