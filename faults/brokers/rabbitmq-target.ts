import { connect, type Channel, type ChannelModel } from 'amqplib';
import { cutConnections, fillUp } from '../../spec/connectors/rabbitmq/fixtures/broker.js';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared broker of the integration specs. */
const SHARED_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672/';

/**
 * A quorum queue (with the connector's dead-letter queue `<queue>.dlq`) on the broker at `url`.
 * Every look is a short-lived connection of its own, so a broker restart never leaves the
 * target holding a dead one.
 */
export class RabbitmqTarget implements BrokerTarget {
  readonly broker = 'rabbitmq';
  readonly endpoint: BrokerEndpoint;
  /** Dead letters taken out of `<queue>.dlq` so far: id and `x-ergon-error`. */
  private readonly dead: { id: string; error: string }[] = [];

  constructor(
    private readonly url = SHARED_RABBITMQ_URL,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs' | 'consumerTimeout'> = {
      maxDeliveries: 5,
      leaseMs: 0,
    },
  ) {
    const queue = uniqueName('ergon_fault');
    this.endpoint = { broker: 'rabbitmq', url, destination: queue, clientName: queue, ...settings };
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    await this.withConnection(async (model) => {
      const channel = await model.createConfirmChannel();
      for (const { id, body } of messages) {
        channel.sendToQueue(this.endpoint.destination, body, { persistent: true, messageId: id });
      }
      await channel.waitForConfirms();
    });
  }

  outstanding(): Promise<number> {
    return this.withConnection(
      async (model) =>
        (await (await model.createChannel()).checkQueue(this.endpoint.destination)).messageCount,
    );
  }

  /** Takes the dead letters out of `<queue>.dlq` (kept here, so every call returns all of them). */
  async deadLettered(): Promise<string[]> {
    await this.withConnection(async (model) => {
      const channel: Channel = await model.createChannel();
      for (;;) {
        const message = await channel.get(`${this.endpoint.destination}.dlq`, { noAck: true });
        if (message === false) break;
        const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
        const error = headers['x-ergon-error'];
        this.dead.push({
          id: String(message.properties.messageId),
          error: Buffer.isBuffer(error) ? error.toString() : String(error),
        });
      }
    });
    return this.dead.map(({ id }) => id);
  }

  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    await this.deadLettered();
    return new Map(this.dead.map(({ id, error }) => [id, error]));
  }

  cutConnections(): Promise<number> {
    return cutConnections(this.endpoint.clientName);
  }

  /** A policy on `<queue>.dlq` (shared broker only): `max-length` 0, `reject-publish`. */
  refuseDeadLetters(): Promise<() => Promise<void>> {
    return fillUp(`${this.endpoint.destination}.dlq`);
  }

  async deleteDeadLetters(): Promise<void> {
    await this.withConnection(async (model) => {
      await (await model.createChannel()).deleteQueue(`${this.endpoint.destination}.dlq`);
    });
  }

  async dispose(): Promise<void> {
    const queue = this.endpoint.destination;
    await this.withConnection(async (model) => {
      const channel = await model.createChannel();
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dlq`);
      await channel.deleteExchange(`${queue}.dlx`);
    });
  }

  private async withConnection<T>(use: (model: ChannelModel) => Promise<T>): Promise<T> {
    const model = await connect(this.url, {
      clientProperties: { connection_name: `${this.endpoint.clientName}-probe` },
    });
    model.on('error', () => undefined);
    try {
      return await use(model);
    } finally {
      await model.close().catch(() => undefined);
    }
  }
}
