import { requireService } from '../../spec/support/real-service.js';
import { startPrivateSqs } from '../support/private-sqs.js';
import { describeBrokerFaults } from './broker-faults.js';
import { SqsTarget } from './sqs-target.js';

describe('SQS (ElasticMQ) under faults', function () {
  before(async function () {
    await requireService(this, 'elasticmq');
    await requireService(this, 'postgres');
  });

  describeBrokerFaults({
    broker: 'sqs',
    sharedTarget: (settings) => SqsTarget.open(undefined, settings),
    privateBroker: startPrivateSqs,
    privateTarget: (broker) => SqsTarget.open(broker.port),
  });
});
