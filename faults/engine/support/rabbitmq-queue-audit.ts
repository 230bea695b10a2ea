import type { GetMessage } from 'amqplib';
import { expect } from 'chai';
import { createTransaction } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { BrokerProbe, brokerUrl } from '../../../spec/connectors/rabbitmq/fixtures/broker.js';

function numbersOf(messages: readonly GetMessage[]): number[] {
  return messages
    .map((message) => (JSON.parse(message.content.toString('utf8')) as { n: number }).n)
    .sort((a, b) => a - b);
}

/**
 * A fault scenario's queue seen from outside the task: publishes `{ n }` payloads to it and,
 * once the task is gone, takes what is left in it (released for redelivery) and in its
 * dead-letter queue.
 */
export class RabbitmqQueueAudit {
  private constructor(
    readonly queue: string,
    private readonly probe: BrokerProbe,
  ) {}

  static async open(queue: string): Promise<RabbitmqQueueAudit> {
    return new RabbitmqQueueAudit(queue, await BrokerProbe.open());
  }

  get url(): string {
    return brokerUrl;
  }

  /** Declares the queue (and its dead-letter queue) and publishes `{ n }` for n < count. */
  async publish(count: number): Promise<void> {
    const producer = new RabbitmqConnector({
      connection: { url: brokerUrl, connectionName: 'ergon fault publisher' },
      queue: this.queue,
    });
    const report = await producer.dispatch(
      Array.from({ length: count }, (_, n) => createTransaction({ n })),
    );
    await producer.close();
    expect(report?.failed ?? []).to.deep.equal([]);
  }

  /**
   * The `n` still in the queue once unacknowledged messages of a gone consumer are back
   * (`expected` of them, waiting up to 5 s), taken out of it.
   */
  async leftovers(expected: number): Promise<number[]> {
    await this.probe.settledCount(this.queue, expected, 5000);
    return numbersOf(await this.probe.drain(this.queue));
  }

  /** The `n` in the dead-letter queue, taken out of it. */
  async deadLettered(): Promise<number[]> {
    return numbersOf(await this.probe.drain(`${this.queue}.dlq`));
  }

  async close(): Promise<void> {
    await this.probe.deleteTopology(this.queue);
    await this.probe.close();
  }
}
