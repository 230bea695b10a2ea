import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, type Observable } from 'rxjs';
import { FileConnector } from '../../../lib/connectors/file/file-connector.js';
import type { Connector, ConnectorScheduling } from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { NatsConnector } from '../../../lib/connectors/nats/index.js';
import { NatsAdmin } from '../nats/fixtures/nats-spec-support.js';
import { RedisConnector } from '../../../lib/connectors/redis/index.js';
import { adminClient } from '../redis/fixtures/redis-spec-support.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { delayBucket } from '../../../lib/connectors/rabbitmq/internal/delay-queues.js';
import { BrokerProbe, brokerUrl } from '../rabbitmq/fixtures/broker.js';
import { uniqueName } from '../../support/real-service.js';
import { dropQueue, testUrl } from '../postgres/fixtures/queue-fixture.js';
import { SqsConnector } from '../../../lib/connectors/sqs/index.js';
import {
  adminClient as sqsAdmin,
  deleteQueues,
  messagesIn,
  sqsConnection,
} from '../sqs/fixtures/sqs-spec-support.js';

/** One connector under the durable-delay specs (spec/connectors/durable-delays.spec.ts). */
export interface DurableSubject {
  readonly name: string;
  /** The server it needs (`null`: none, the disk). */
  readonly service: 'postgres' | 'redis' | 'rabbitmq' | 'nats' | 'elasticmq' | null;
  /** What its `scheduling` must say. */
  readonly scheduling: ConnectorScheduling;
  /** Whether it orders by `metadata.priority` when opened with `priority: true`. */
  readonly priorities: boolean;
  /** A connector that dispatches to and consumes from `queue`; `priority`: a queue that can order by it. */
  open(queue: string, options: { priority?: boolean }): Promise<Connector<{ n: number }>>;
  /** How many transactions `queue` holds (delayed ones included). */
  pending(connector: Connector<{ n: number }>, queue: string): Promise<number>;
  /** Removes every queue the specs made. */
  cleanup(): Promise<void>;
}

const all: ConnectorScheduling = { delayedRelease: true, notBefore: true, priority: true };

function postgres(): DurableSubject {
  const tables: string[] = [];
  return {
    name: 'PostgreSQL',
    service: 'postgres',
    scheduling: all,
    priorities: true,
    async open(queue) {
      if (!tables.includes(queue)) tables.push(queue);
      const connector = new PostgresConnector<{ n: number }>({
        connection: { url: testUrl, applicationName: uniqueName('ergon_dd_app') },
        fetchWait: 100,
        table: queue,
      });
      await connector.migrate();
      return connector;
    },
    pending: (connector) => lastValueFrom(connector.count?.() as never),
    async cleanup() {
      for (const table of tables) await dropQueue(table);
    },
  };
}

function nats(): DurableSubject {
  let admin: NatsAdmin | null = null;
  const streams = new Map<string, string>();
  return {
    name: 'NATS JetStream',
    service: 'nats',
    scheduling: { delayedRelease: true, notBefore: true, priority: false },
    priorities: false,
    async open(queue) {
      admin ??= await NatsAdmin.open();
      let stream = streams.get(queue);
      if (stream === undefined) {
        stream = admin.streamName();
        streams.set(queue, stream);
      }
      const connector = new NatsConnector<{ n: number }>({ stream, fetchWait: 250 });
      await connector.declare();
      return connector;
    },
    pending: (connector) => lastValueFrom(connector.count?.() as never),
    async cleanup() {
      await admin?.close();
      admin = null;
    },
  };
}

function redis(): DurableSubject {
  const streams = new Set<string>();
  return {
    name: 'Redis Streams',
    service: 'redis',
    scheduling: { delayedRelease: true, notBefore: true, priority: false },
    priorities: false,
    open(queue) {
      streams.add(queue);
      return Promise.resolve(new RedisConnector<{ n: number }>({ stream: queue, fetchWait: 100 }));
    },
    pending: (connector) => lastValueFrom(connector.count?.() as never),
    async cleanup() {
      const admin = adminClient();
      for (const stream of streams) {
        await admin.del(stream, `${stream}:dead`, `${stream}:delayed`);
      }
      admin.disconnect();
    },
  };
}

/** The delays the specs use, for the delay queues to count and delete. */
const specDelays = [400, 700, 1200, 600_000];

function rabbitmq(): DurableSubject {
  const queues = new Set<string>();
  let probe: BrokerProbe | null = null;
  const delayQueues = (queue: string): string[] => [
    ...new Set(specDelays.map((delay) => `${queue}.delay.${delayBucket(delay)}`)),
  ];
  return {
    name: 'RabbitMQ',
    service: 'rabbitmq',
    scheduling: { delayedRelease: true, notBefore: true, priority: false },
    priorities: true,
    async open(queue, options) {
      queues.add(queue);
      const connector = new RabbitmqConnector<{ n: number }>({
        connection: { url: brokerUrl, connectionName: 'ergon durable-delay spec' },
        fetchWait: 200,
        queue,
        ...(options.priority === true ? { queueType: 'classic', maxPriority: 9 } : {}),
      });
      await connector.declare();
      return connector;
    },
    async pending(connector, queue) {
      probe ??= await BrokerProbe.open();
      let total = await lastValueFrom(connector.count?.() as never as Observable<number>);
      for (const name of delayQueues(queue)) total += (await probe.messageCount(name)) ?? 0;
      return total;
    },
    async cleanup() {
      probe ??= await BrokerProbe.open();
      for (const queue of queues) {
        await probe.deleteTopology(queue);
        for (const name of delayQueues(queue)) await probe.deleteQueue(name);
      }
      await probe.close();
      probe = null;
    },
  };
}

function file(): DurableSubject {
  let dir: string | null = null;
  const pathOf = (queue: string): string => {
    dir ??= mkdtempSync(join(tmpdir(), 'ergon-dd-'));
    return join(dir, `${queue}.jsonl`);
  };
  return {
    name: 'file',
    service: null,
    scheduling: { delayedRelease: true, notBefore: false, priority: false },
    priorities: false,
    open(queue) {
      return Promise.resolve(new FileConnector<{ n: number }>({ path: pathOf(queue) }));
    },
    pending(_connector, queue) {
      const text = readFileSync(`${pathOf(queue)}.retry.jsonl`, 'utf8');
      return Promise.resolve(text.split('\n').filter((line) => line !== '').length);
    },
    cleanup() {
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
      dir = null;
      return Promise.resolve();
    },
  };
}

function sqs(): DurableSubject {
  const queues = new Set<string>();
  return {
    name: 'SQS',
    service: 'elasticmq',
    scheduling: { delayedRelease: true, notBefore: true, priority: false },
    priorities: false,
    async open(queue) {
      queues.add(queue);
      const connector = new SqsConnector<{ n: number }>({
        connection: sqsConnection,
        queue,
        fetchWait: '1s',
      });
      await connector.declare();
      return connector;
    },
    async pending(_connector, queue) {
      const admin = sqsAdmin();
      try {
        return await messagesIn(admin, queue);
      } finally {
        admin.destroy();
      }
    },
    async cleanup() {
      const admin = sqsAdmin();
      await deleteQueues(
        admin,
        [...queues].flatMap((queue) => [queue, `${queue}-dlq`]),
      );
      admin.destroy();
      queues.clear();
    },
  };
}

/** Every connector of the durable-delay specs. */
export const durableSubjects: readonly DurableSubject[] = [
  postgres(),
  nats(),
  redis(),
  rabbitmq(),
  sqs(),
  file(),
];
