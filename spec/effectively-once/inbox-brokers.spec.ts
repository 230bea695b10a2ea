import { expect } from 'chai';
import pg from 'pg';
import { lastValueFrom, take, toArray } from 'rxjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createTransaction, type Transaction } from '../../lib/index.js';
import { NatsConnector } from '../../lib/connectors/nats/index.js';
import { inbox, transactional } from '../../lib/effectively-once/index.js';
import { KafkaTarget } from '../../faults/brokers/kafka-target.js';
import { RabbitmqTarget } from '../../faults/brokers/rabbitmq-target.js';
import { RedisTarget } from '../../faults/brokers/redis-target.js';
import { SqsTarget } from '../../faults/brokers/sqs-target.js';
import {
  openBrokerConnector,
  type BrokerConnector,
} from '../../faults/support/broker-connector.js';
import type { BrokerTarget } from '../../faults/support/broker-target.js';
import { requireService, uniqueName, type ServiceName } from '../support/real-service.js';
import { adminQuery, testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';

const settings = { maxDeliveries: 5, leaseMs: 3000 };
/** A broker target's connector (worker 1), disposed with its target. */
async function throughTarget(
  target: BrokerTarget,
): Promise<{ connector: BrokerConnector; dispose: () => Promise<void> }> {
  const connector = await openBrokerConnector(target.endpoint, 1);
  return { connector, dispose: () => target.dispose() };
}

const brokers: readonly {
  readonly name: string;
  readonly service: ServiceName;
  /** The connector a redelivery reaches, and how to remove what it made. */
  readonly open: () => Promise<{ connector: BrokerConnector; dispose: () => Promise<void> }>;
}[] = [
  {
    name: 'RabbitMQ',
    service: 'rabbitmq',
    open: () => throughTarget(new RabbitmqTarget(undefined, settings)),
  },
  {
    name: 'Redis Streams',
    service: 'redis',
    open: () => throughTarget(new RedisTarget(undefined, settings)),
  },
  {
    name: 'Kafka',
    service: 'kafka',
    open: () => throughTarget(new KafkaTarget(undefined, settings)),
  },
  {
    name: 'SQS (ElasticMQ)',
    service: 'elasticmq',
    open: async () => throughTarget(await SqsTarget.open(undefined, settings)),
  },
  {
    // JetStream drops an id sent again within the stream's duplicate window (2 min by
    // default): a window of 100 ms lets the second dispatch below stand for a redelivery.
    name: 'NATS JetStream',
    service: 'nats',
    open: async () => {
      const stream = uniqueName('ergon_inbox');
      const connector = new NatsConnector({ stream, duplicateWindow: '100ms', fetchWait: 200 });
      return {
        connector,
        dispose: async () => {
          const admin = await connect({ servers: '127.0.0.1:4222' });
          const jsm = await jetstreamManager(admin);
          for (const name of [stream, `${stream}_DEAD`])
            await jsm.streams.delete(name).catch(() => false);
          await admin.close();
        },
      };
    },
  },
];

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
      const { connector, dispose } = await broker.open();
      const consumer = transactional(connector, { inbox: seen });
      try {
        const first = createTransaction({ n: 1 }, { id: 'order-1' });
        await connector.dispatch([first, createTransaction({ n: 2 }, { id: 'order-2' })]);
        await sleep(300); // past NATS's duplicate window of 100 ms (see above)
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
        await dispose();
        await adminQuery(`DROP TABLE IF EXISTS ${table}, ${table}_effects`);
      }
    });
  }
});
