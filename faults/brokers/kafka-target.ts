import { Admin, Consumer, ListOffsetTimestamps, Producer, ProduceAcks } from '@platformatic/kafka';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared Kafka of the integration specs (scripts/services/kafka.sh). */
const SHARED_KAFKA = '127.0.0.1:9092';

/** A record of the dead-letter topic: its `ergon-id` and `ergon-error` headers. */
interface DeadRecord {
  readonly id: string;
  readonly error: string;
}

/**
 * A topic (with the connector's dead-letter topic `<topic>.dead`) on the Kafka at `url`,
 * consumed by the connector's default group `ergon-<topic>`. Kafka cannot close a client's
 * connections from the server side, so {@link cutConnections} closes none.
 */
export class KafkaTarget implements BrokerTarget {
  readonly broker = 'kafka';
  readonly endpoint: BrokerEndpoint;
  private producer: Producer | null = null;

  constructor(
    private readonly url = SHARED_KAFKA,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 6000,
    },
  ) {
    const topic = uniqueName('ergon_fault');
    this.endpoint = { broker: 'kafka', url, destination: topic, clientName: topic, ...settings };
  }

  get group(): string {
    return `ergon-${this.endpoint.destination}`;
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    this.producer ??= new Producer({
      clientId: `${this.endpoint.clientName}-probe`,
      bootstrapBrokers: [this.url],
      idempotent: true,
      acks: ProduceAcks.ALL,
    });
    await this.producer.send({
      messages: messages.map(({ id, body }) => ({
        topic: this.endpoint.destination,
        value: body,
        headers: new Map([[Buffer.from('ergon-id'), Buffer.from(id)]]),
      })),
    });
  }

  /** The group's lag: per partition, the end offset less the committed one (the start without a commit). */
  async outstanding(): Promise<number> {
    const topic = this.endpoint.destination;
    return this.withConsumer(this.group, async (consumer) => {
      const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
      const starts =
        (
          await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST })
        ).get(topic) ?? [];
      const commits =
        (
          await consumer.listCommittedOffsets({
            topics: [{ topic, partitions: ends.map((_, partition) => partition) }],
          })
        ).get(topic) ?? [];
      let lag = 0n;
      ends.forEach((end, partition) => {
        const commit = commits[partition] ?? -1n;
        lag += end - (commit >= 0n ? commit : (starts[partition] ?? 0n));
      });
      return Number(lag);
    });
  }

  async deadLettered(): Promise<string[]> {
    return (await this.deadRecords()).map(({ id }) => id);
  }

  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    return new Map((await this.deadRecords()).map(({ id, error }) => [id, error]));
  }

  cutConnections(): Promise<number> {
    return Promise.resolve(0);
  }

  async dispose(): Promise<void> {
    await this.producer?.close();
    this.producer = null;
    const admin = new Admin({
      clientId: `${this.endpoint.clientName}-probe`,
      bootstrapBrokers: [this.url],
    });
    const topic = this.endpoint.destination;
    const existing = new Set(await admin.listTopics());
    const topics = [topic, `${topic}.dead`].filter((name) => existing.has(name));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.close();
  }

  /** Every record of `<topic>.dead`, read from the start by a group of its own. */
  private async deadRecords(): Promise<DeadRecord[]> {
    const topic = `${this.endpoint.destination}.dead`;
    const admin = new Admin({
      clientId: `${this.endpoint.clientName}-probe`,
      bootstrapBrokers: [this.url],
    });
    const exists = (await admin.listTopics()).includes(topic);
    await admin.close();
    if (!exists) return [];
    return this.withConsumer(uniqueName('ergon_probe'), async (consumer) => {
      const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
      const total = ends.reduce((sum, end) => sum + end, 0n);
      if (total === 0n) return [];
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
        maxWaitTime: 100,
      });
      const records: DeadRecord[] = [];
      try {
        for await (const message of stream) {
          const header = (name: string): string => {
            for (const [key, value] of message.headers)
              if (key.toString() === name) return value.toString();
            return '';
          };
          records.push({ id: header('ergon-id'), error: header('ergon-error') });
          if (BigInt(records.length) >= total) break;
        }
      } finally {
        await stream.close();
      }
      return records;
    });
  }

  private async withConsumer<T>(
    groupId: string,
    use: (consumer: Consumer) => Promise<T>,
  ): Promise<T> {
    const consumer = new Consumer({
      clientId: `${this.endpoint.clientName}-probe`,
      bootstrapBrokers: [this.url],
      groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
    });
    try {
      return await use(consumer);
    } finally {
      await consumer.close();
    }
  }
}
