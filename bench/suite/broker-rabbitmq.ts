import { brokerScenario, ratioTarget } from './broker-scenario.js';
import { contendersOf } from './contender-ref.js';
import type * as rabbitmqContenders from '../contenders/rabbitmq.js';

const rabbitmq = contendersOf<typeof rabbitmqContenders>('contenders/rabbitmq.js');
/** Issue #7: the RabbitMQ connector keeps at least this share of raw amqplib's throughput. */
const share = 0.8;

/** Scenario 6c: RabbitMQ connector against raw amqplib. */
export const brokerRabbitmq = brokerScenario({
  id: 'rabbitmq',
  title: 'Brokers: RabbitMQ vs raw amqplib',
  contenders:
    'Classic durable queue, persistent messages, publisher confirms, prefetch = concurrency, one ack per message. ergon-rx: `dispatchTo(RabbitmqConnector)` and `consume`. Raw amqplib: a confirm channel publishing each batch then `waitForConfirms`; a consumer that parses the JSON body, runs the handler and acks.',
  run: { count: 20_000, concurrency: 100, dispatchBatch: 500 },
  refs: (run, warmup) => ({
    'ergon-rx continuous': rabbitmq(
      'ergonRabbitmq',
      { ...run, mode: 'continuous' },
      { warmup: { ...warmup, mode: 'continuous' } },
    ),
    'ergon-rx batch': rabbitmq(
      'ergonRabbitmq',
      { ...run, mode: 'batch' },
      { warmup: { ...warmup, mode: 'batch' } },
    ),
    'raw amqplib': rabbitmq('rawRabbitmq', run, { warmup }),
  }),
  baselines: ['raw amqplib'],
  targets: (summaries) =>
    (['continuous', 'batch'] as const).map((mode) =>
      ratioTarget(
        summaries,
        `ergon-rx ${mode}`,
        'raw amqplib',
        share,
        `RabbitMQ connector (${mode}) ≥ ${share * 100} % of raw amqplib`,
      ),
    ),
});
