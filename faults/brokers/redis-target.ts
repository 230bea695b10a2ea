import { Redis } from 'ioredis';
import { killClients } from '../../spec/connectors/redis/fixtures/redis-spec-support.js';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared Redis of the integration specs. */
const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** The consumer group the connector uses by default. */
const GROUP = 'ergon';

/** A stream (with its dead-letter stream `<stream>:dead`) on the Redis at `url`. */
export class RedisTarget implements BrokerTarget {
  readonly broker = 'redis';
  readonly endpoint: BrokerEndpoint;
  private readonly admin: Redis;

  constructor(
    url = SHARED_REDIS_URL,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 1000,
    },
  ) {
    const stream = uniqueName('ergon_fault');
    this.endpoint = { broker: 'redis', url, destination: stream, clientName: stream, ...settings };
    this.admin = new Redis(url, { connectionName: `${stream}-probe`, maxRetriesPerRequest: 1 });
    this.admin.on('error', () => undefined);
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    const pipeline = this.admin.pipeline();
    for (const { id, body } of messages) {
      pipeline.xadd(this.endpoint.destination, '*', 'id', id, 'body', body);
    }
    await pipeline.exec();
  }

  /** The group's lag plus its pending entries; the stream's length before the group exists. */
  async outstanding(): Promise<number> {
    const stream = this.endpoint.destination;
    const groups = (await this.admin.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    for (const fields of groups) {
      const group = new Map<unknown, unknown>();
      for (let index = 0; index + 1 < fields.length; index += 2) {
        group.set(fields[index], fields[index + 1]);
      }
      if (group.get('name') === GROUP)
        return Number(group.get('pending')) + Number(group.get('lag'));
    }
    return this.admin.xlen(stream);
  }

  async deadLettered(): Promise<string[]> {
    const entries = await this.admin.xrange(`${this.endpoint.destination}:dead`, '-', '+');
    return entries.map(([, fields]) => fields[fields.indexOf('id') + 1] ?? '');
  }

  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    const entries = await this.admin.xrange(`${this.endpoint.destination}:dead`, '-', '+');
    const field = (fields: string[], name: string): string =>
      fields[fields.indexOf(name) + 1] ?? '';
    return new Map(entries.map(([, fields]) => [field(fields, 'id'), field(fields, 'error')]));
  }

  cutConnections(): Promise<number> {
    return killClients(this.admin, `${this.endpoint.clientName}:`);
  }

  async dispose(): Promise<void> {
    await this.admin.del(this.endpoint.destination, `${this.endpoint.destination}:dead`);
    this.admin.disconnect();
  }
}
