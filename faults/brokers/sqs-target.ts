import {
  ChangeMessageVisibilityBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { uniqueName } from '../../spec/support/real-service.js';
import { TcpProxy } from '../../spec/support/tcp-proxy.js';
import { openBrokerConnector } from '../support/broker-connector.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared ElasticMQ of the integration specs. */
const SHARED_PORT = 9324;

/**
 * An SQS body for raw bytes, as a producer that is not ergon-rx would send them: SQS bodies
 * are text of at least one character, without most control characters, so the bytes are read
 * as Latin-1 and what SQS refuses becomes U+FFFD (an empty body, a blank). Every body the
 * suite sends stays undecodable JSON.
 */
function sqsBody(body: Buffer): string {
  const allowed = (code: number): boolean =>
    code >= 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
  const text = Array.from(body.toString('latin1'), (char) =>
    allowed(char.charCodeAt(0)) ? char : '\ufffd',
  ).join('');
  return text === '' ? ' ' : text;
}

/**
 * A queue (with its dead-letter queue `<queue>-dlq`; a FIFO one by option) on an ElasticMQ, reached by the workers
 * through a TCP proxy, so that cutting "the server's" connections is cutting the proxy's (SQS
 * is HTTP: the server has no client list to kill).
 */
export class SqsTarget implements BrokerTarget {
  readonly broker = 'sqs';
  readonly endpoint: BrokerEndpoint;
  private readonly admin: SQSClient;

  private constructor(
    private readonly proxy: TcpProxy,
    serverPort: number,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'>,
    private readonly fifo: boolean,
  ) {
    const queue = `${uniqueName('ergon_fault')}${fifo ? '.fifo' : ''}`;
    this.endpoint = {
      broker: 'sqs',
      url: `http://127.0.0.1:${proxy.listeningPort}`,
      destination: queue,
      clientName: queue,
      ...settings,
    };
    this.admin = new SQSClient({
      endpoint: `http://127.0.0.1:${serverPort}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'ergon', secretAccessKey: 'ergon' },
    });
  }

  /**
   * A new queue on the ElasticMQ at `serverPort`; `fifo: true` makes it a FIFO queue
   * (`<name>.fifo`, dead letters in `<name>-dlq.fifo`).
   */
  static async open(
    serverPort = SHARED_PORT,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 1000,
    },
    options: { fifo?: boolean } = {},
  ): Promise<SqsTarget> {
    return new SqsTarget(
      await TcpProxy.start(serverPort),
      serverPort,
      settings,
      options.fifo === true,
    );
  }

  /** The dead-letter queue's name, as the connector makes it. */
  private get deadLetterQueue(): string {
    const name = this.endpoint.destination;
    return this.fifo ? `${name.slice(0, -'.fifo'.length)}-dlq.fifo` : `${name}-dlq`;
  }

  private async url(name: string): Promise<string | undefined> {
    try {
      return (await this.admin.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    } catch {
      return undefined;
    }
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    // The queues (with their redrive policy) as the workers' connector makes them.
    await (await openBrokerConnector(this.endpoint, 0)).close();
    const queue = await this.url(this.endpoint.destination);
    for (let start = 0; start < messages.length; start += 10) {
      await this.admin.send(
        new SendMessageBatchCommand({
          QueueUrl: queue,
          Entries: messages.slice(start, start + 10).map(({ id, body }, index) => ({
            Id: String(index),
            MessageBody: sqsBody(body),
            MessageAttributes: { 'ergon-id': { DataType: 'String', StringValue: id } },
            ...(this.fifo ? { MessageGroupId: id, MessageDeduplicationId: id } : {}),
          })),
        }),
      );
    }
  }

  /** Visible, in flight and delayed messages. */
  async outstanding(): Promise<number> {
    const queue = await this.url(this.endpoint.destination);
    if (queue === undefined) return 0;
    const reply = await this.admin.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = reply.Attributes ?? {};
    return (
      Number(a.ApproximateNumberOfMessages ?? 0) +
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  /** Ids in the dead-letter queue. */
  async deadLettered(): Promise<string[]> {
    return (await this.readDeadLetters()).map(([id]) => id);
  }

  /** The `ergon-error` attribute of each dead letter ('' for one the redrive policy moved). */
  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    return new Map(await this.readDeadLetters());
  }

  /**
   * The dead-letter queue's messages as [id, error]: all received once (hidden meanwhile), then
   * made visible again.
   */
  private async readDeadLetters(): Promise<[string, string][]> {
    const queue = await this.url(this.deadLetterQueue);
    const letters: [string, string][] = [];
    if (queue === undefined) return letters;
    const handles: string[] = [];
    for (;;) {
      const reply = await this.admin.send(
        new ReceiveMessageCommand({
          QueueUrl: queue,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 20,
          MessageAttributeNames: ['ergon-id', 'ergon-error'],
        }),
      );
      const messages = reply.Messages ?? [];
      for (const message of messages) {
        letters.push([
          message.MessageAttributes?.['ergon-id']?.StringValue ?? message.MessageId ?? '',
          message.MessageAttributes?.['ergon-error']?.StringValue ?? '',
        ]);
        if (message.ReceiptHandle !== undefined) handles.push(message.ReceiptHandle);
      }
      if (messages.length === 0) break;
    }
    for (let start = 0; start < handles.length; start += 10) {
      await this.admin.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue,
          Entries: handles.slice(start, start + 10).map((handle, index) => ({
            Id: String(index),
            ReceiptHandle: handle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    return letters;
  }

  cutConnections(): Promise<number> {
    return Promise.resolve(this.proxy.cut());
  }

  async dispose(): Promise<void> {
    for (const name of [this.endpoint.destination, this.deadLetterQueue]) {
      const queue = await this.url(name);
      if (queue !== undefined) await this.admin.send(new DeleteQueueCommand({ QueueUrl: queue }));
    }
    this.admin.destroy();
    await this.proxy.close();
  }
}
