import { lastValueFrom } from 'rxjs';
import type { Connector, ConnectorScheduling } from '../../../lib/index.js';
import { PostgresConnector } from '../../../lib/connectors/postgres/index.js';
import { NatsConnector } from '../../../lib/connectors/nats/index.js';
import { NatsAdmin } from '../nats/fixtures/nats-spec-support.js';
import { RedisConnector } from '../../../lib/connectors/redis/index.js';
import { adminClient } from '../redis/fixtures/redis-spec-support.js';
import { uniqueName } from '../../support/real-service.js';
import { dropQueue, testUrl } from '../postgres/fixtures/queue-fixture.js';

/** One connector under the durable-delay specs (spec/connectors/durable-delays.spec.ts). */
export interface DurableSubject {
  readonly name: string;
  /** The server it needs (`null`: none, the disk). */
  readonly service: 'postgres' | 'redis' | 'rabbitmq' | 'nats' | null;
  /** What its `scheduling` must say. */
  readonly scheduling: ConnectorScheduling;
  /** Whether fetched transactions carry a delivery count that goes on across a retry-later. */
  readonly countsDeliveries: boolean;
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
    countsDeliveries: true,
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
    countsDeliveries: true,
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
    countsDeliveries: true,
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

/** Every connector of the durable-delay specs. */
export const durableSubjects: readonly DurableSubject[] = [postgres(), nats(), redis()];
