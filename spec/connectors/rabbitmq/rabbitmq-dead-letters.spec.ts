import { redriveOfKey } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

describe('RabbitmqConnector dead letters (real RabbitMQ)', function () {
  this.timeout(30_000);
  const queues: string[] = [];
  const connectors: RabbitmqConnector[] = [];
  let probe: BrokerProbe | undefined;

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((connector) => connector.close()));
  });

  after(async () => {
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    await probe.close();
  });

  deadLetterContract(
    () => {
      const queue = uniqueName('ergon-dlq');
      queues.push(queue);
      const make = (): RabbitmqConnector =>
        new RabbitmqConnector({ connection: { url: brokerUrl }, queue, fetchWait: 50 });
      const first = make();
      const second = make();
      connectors.push(first, second);
      return Promise.resolve({ first, second });
    },
    {
      deliveryCountOf: (tx) => tx.metadata['deliveryCount'] as number,
      redriveOf: (tx) => (tx.metadata['headers'] as Record<string, unknown>)[redriveOfKey],
    },
  );
});
