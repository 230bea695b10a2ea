import { expect } from 'chai';
import pg from 'pg';
import { lastValueFrom, take, toArray } from 'rxjs';
import { createTransaction, type Transaction } from '../../lib/index.js';
import { inbox, transactional } from '../../lib/effectively-once/index.js';
import { KafkaTarget } from '../../faults/brokers/kafka-target.js';
import { RabbitmqTarget } from '../../faults/brokers/rabbitmq-target.js';
import { RedisTarget } from '../../faults/brokers/redis-target.js';
import { SqsTarget } from '../../faults/brokers/sqs-target.js';
import { openBrokerConnector } from '../../faults/support/broker-connector.js';
import type { BrokerTarget } from '../../faults/support/broker-target.js';
import { requireService, uniqueName, type ServiceName } from '../support/real-service.js';
import { adminQuery, testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';

const settings = { maxDeliveries: 5, leaseMs: 3000 };
const brokers: readonly {
  readonly name: string;
  readonly service: ServiceName;
  readonly target: () => Promise<BrokerTarget>;
}[] = [
  {
    name: 'RabbitMQ',
    service: 'rabbitmq',
    target: async () => new RabbitmqTarget(undefined, settings),
  },
  {
    name: 'Redis Streams',
    service: 'redis',
    target: async () => new RedisTarget(undefined, settings),
  },
  { name: 'Kafka', service: 'kafka', target: async () => new KafkaTarget(undefined, settings) },
  {
    name: 'SQS (ElasticMQ)',
    service: 'elasticmq',
    target: () => SqsTarget.open(undefined, settings),
  },
];

// NATS JetStream is not in this list: its server drops a re-published id within the
// stream's duplicate window, and the connector renews the lease of a message whose ack is
// withheld, so neither way of making a second delivery here works for it; the inbox itself
// is the same code for every connector (it keys on the transaction id, which the NATS
// connector keeps as Nats-Msg-Id).
describe('inbox over every broker (real servers)', function () {
  this.timeout(60_000);
  let pool: pg.Pool;

  before(async function () {
    await requireService(this, 'postgres');
    pool = new pg.Pool({ connectionString: testUrl, max: 8 });
  });

  after(async () => pool?.end());

  for (const broker of brokers) {
    it(`${broker.name}: a transaction delivered twice is written once`, async function () {
      await requireService(this, broker.service);
      const table = uniqueName('inbox_brokers');
      const seen = inbox(pool, { table });
      await seen.migrate();
      await pool.query(`CREATE TABLE ${table}_effects (id text NOT NULL)`);
      const target = await broker.target();
      const connector = await openBrokerConnector(target.endpoint, 1);
      const consumer = transactional(connector, { inbox: seen });
      try {
        const first = createTransaction({ n: 1 }, { id: 'order-1' });
        await connector.dispatch([first, createTransaction({ n: 2 }, { id: 'order-2' })]);
        await connector.dispatch([first]); // the redelivery a lost ack would cause
        const outcomes = await lastValueFrom(
          consumer
            .consume(
              {
                process: async (tx: Transaction, { db }) => {
                  await db.query(`INSERT INTO ${table}_effects (id) VALUES ($1)`, [tx.id]);
                },
              },
              { loop: { mode: 'continuous', concurrency: { value: 1 }, streaming: true } },
            )
            .pipe(take(3), toArray()),
        );
        expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
          'success',
          'success',
          'success',
        ]);
        const rows = await adminQuery<{ id: string }>(
          `SELECT id FROM ${table}_effects ORDER BY id`,
        );
        expect(rows.map((row) => row.id)).to.deep.equal(['order-1', 'order-2']);
      } finally {
        await consumer.close();
        await connector.close();
        await target.dispose();
        await adminQuery(`DROP TABLE IF EXISTS ${table}, ${table}_effects`);
      }
    });
  }
});
