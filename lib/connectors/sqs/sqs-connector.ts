import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type BatchResultErrorEntry,
  type Message,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import log from 'loglevel';
import { defer, type Observable, type Subscriber } from 'rxjs';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  FetchRequest,
} from '../../core/connector.js';
import {
  ConnectorClosedError,
  DeliveryLostError,
  ScheduleError,
  type TransactionError,
} from '../../core/errors.js';
import { notBeforeOf } from '../../core/delivery-schedule.js';
import type { Logger } from '../../core/logging.js';
import type { SettleDecision } from '../../core/outcome.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { describeError } from '../../core/renderers.js';
import type { Transaction } from '../../core/transaction.js';
import { noop, waitAtMost } from '../../core/waiting.js';
import {
  awsAddress,
  awsClientSettings,
  fetchObservable,
  probeHealth,
  refuseConnectionWithClient,
} from '../aws/aws-connector-skeleton.js';
import { notHeld, takeDelivery } from '../../core/settle-once.js';
import { AwsRequests, awsErrorName } from '../aws/aws-requests.js';
import { SqsQueueError, SqsSendError } from './errors.js';
import { EntryBatcher, maxBatchEntries, type BatchFailures } from './internal/entry-batcher.js';
import {
  deadLetterAttributes,
  deliveryOf,
  deliveryTransaction,
  entrySize,
  sendEntry,
  type Delivery,
} from './internal/sqs-message.js';
import {
  sqsConnectorConfig,
  type SqsConnectorConfig,
  type SqsConnectorConfigInput,
} from './sqs-connector-config.js';

/** The most bytes of messages one `SendMessageBatch` carries (SQS's classic limit, ElasticMQ's too). */
const maxBatchBytes = 262_144;
/** How long `close` waits for SQS to take back what this connector holds. */
const closeGrace = 2000;
/** The longest SQS hides a received message, counted from its receive (12 h), in seconds. */
const maxVisibilitySeconds = 43_200;
/** The longest SQS delays a message it is sent (`DelaySeconds`, 15 min), in seconds. */
const maxDelaySeconds = 900;

/** The URLs of the queue and its dead-letter queue, once known. */
interface QueueUrls {
  readonly queue: string;
  readonly deadLetter: string;
}

/** A visibility change of one delivery. */
interface VisibilityChange {
  readonly delivery: Delivery;
  readonly seconds: number;
}

function failuresOf(failed: readonly BatchResultErrorEntry[] | undefined): BatchFailures {
  const failures = new Map<string, unknown>();
  for (const entry of failed ?? []) {
    failures.set(
      entry.Id ?? '',
      new SqsSendError(entry.Code ?? 'Unknown', entry.SenderFault ?? false, entry.Message ?? ''),
    );
  }
  return failures;
}

/**
 * Runs `send` on each item one after another (a FIFO queue stores a group's messages in the
 * order they arrive); after the first rejection the rest are not sent and reject with it.
 */
async function inOrder<T, R>(
  items: readonly T[],
  send: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = [];
  let failure: PromiseRejectedResult | undefined;
  for (const item of items) {
    if (failure !== undefined) {
      results.push(failure);
      continue;
    }
    try {
      results.push({ status: 'fulfilled', value: await send(item) });
    } catch (reason) {
      failure = { status: 'rejected', reason };
      results.push(failure);
    }
  }
  return results;
}

function queueNameOf(queue: string): string {
  return /^https?:\/\//.test(queue) ? (queue.split('/').pop() ?? queue) : queue;
}

function defaultDeadLetterQueue(queue: string): string {
  const name = queueNameOf(queue);
  return name.endsWith('.fifo') ? `${name.slice(0, -5)}-dlq.fifo` : `${name}-dlq`;
}

/**
 * An Amazon SQS queue (or an SQS-compatible server such as ElasticMQ) as a connector, through
 * `@aws-sdk/client-sqs`.
 *
 * - `fetch` long-polls (`WaitTimeSeconds` = `fetchWait`) for at most `request.size` messages
 *   (several receives of ≤ 10 when more are wanted and waiting), each invisible to other
 *   consumers for `visibilityTimeout`. While a transaction runs, its message's visibility is
 *   extended by `visibilityTimeout` every third of it, so a long transaction is never
 *   delivered twice; the extension stops when it is settled.
 * - `settle`: `ack` deletes the message (`DeleteMessageBatch`), `release` makes it visible
 *   again at once (`ChangeMessageVisibilityBatch` to 0) or, with a delay (a retry-later), when
 *   the delay is over (its visibility timeout set to the delay), `deadLetter` sends it with the error
 *   as message attributes (`ergon-error`, `ergon-error-category`, `ergon-error-stage`,
 *   `ergon-source-queue`, …) to the dead-letter queue, then deletes it. The queue's redrive
 *   policy also moves a message received `maxReceiveCount` times there (a consumer that keeps
 *   dying on it).
 * - `dispatch` sends `SendMessageBatch`es of ≤ 10 messages (≤ 256 KiB), with the transaction
 *   id, `metadata.key` and the W3C trace context as message attributes; a message SQS refuses
 *   fails alone (`SqsSendError`). A future `metadata.notBefore` becomes the message's
 *   `DelaySeconds` (at most 15 min; a later one fails that transaction with a `ScheduleError`).
 *   On a FIFO queue (`.fifo`) MessageGroupId is `metadata.key` and MessageDeduplicationId the
 *   transaction id (FIFO queues have no per-message delay: a future `notBefore` is refused).
 *
 * Requests that fail transiently (network, 5xx, throttling) are repeated with capped backoff;
 * a server never reached fails a fetch after `connectTimeout` with `ConnectionUnavailableError`.
 *
 * @example
 * ```ts
 * const connector = new SqsConnector<Order>({ queue: 'orders', visibilityTimeout: '1m' });
 * consume(connector, consumerTask({ process: (tx) => ship(tx.payload) }), {
 *   loop: { mode: 'continuous', concurrency: { value: 32 }, streaming: true },
 * }).subscribe();
 * await connector.dispatch([createTransaction({ sku: 'A-1', qty: 2 })]);
 * ```
 */
export class SqsConnector<P = unknown> implements Connector<P> {
  readonly system = 'aws_sqs';
  /**
   * A retry-later keeps the message in the queue, hidden for the delay
   * (`ChangeMessageVisibility`): SQS hides a message at most 12 h from its receive, so a longer
   * delay is cut to what is left of those 12 h (logged at `warn`). `metadata.notBefore` is the
   * message's `DelaySeconds`, at most 15 min ahead (standard queues only). No priorities.
   */
  readonly scheduling: ConnectorScheduling = Object.freeze({
    delayedRelease: true,
    notBefore: true,
    priority: false,
  });
  /** The queue's name. */
  readonly destination: string;
  readonly config: SqsConnectorConfig<P>;
  /** The SQS client this connector sends through. */
  readonly client: SQSClient;
  /** Whether the queue is a FIFO queue (its name ends in `.fifo`). */
  readonly fifo: boolean;
  private readonly ownsClient: boolean;
  private readonly codec: PayloadCodec<P>;
  private readonly requests: AwsRequests;
  private readonly logger: Logger;
  /** Fetched, unsettled transactions and their messages (receipt handles stay out of metadata). */
  private readonly deliveries = new Map<Transaction<P>, Delivery>();
  private readonly deletes: EntryBatcher<Delivery>;
  private readonly visibility: EntryBatcher<VisibilityChange>;
  private queueUrls: Promise<QueueUrls> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private extending = false;
  private closing: Promise<void> | null = null;

  /**
   * @param input the connector config (see {@link SqsConnectorConfigInput}).
   * @param client a shared `SQSClient` (destroyed by its owner, not by this connector);
   * without one the connector makes its own from `input.connection` and destroys it on `close`.
   * @param options.logger where outages are reported (default: the loglevel logger `ergon.sqs`).
   * @throws PolicyError when `input` is invalid, or has `connection` while `client` is given.
   */
  constructor(
    input: SqsConnectorConfigInput<P>,
    client?: SQSClient,
    options: { readonly logger?: Logger } = {},
  ) {
    this.config = sqsConnectorConfig(input);
    refuseConnectionWithClient('sqs connector config', 'SQSClient', client, input.connection);
    const { connection, queue, fetchWait } = this.config;
    this.destination = queueNameOf(queue);
    this.fifo = this.destination.endsWith('.fifo');
    this.codec = this.config.codec;
    this.logger = options.logger ?? log.getLogger('ergon.sqs');
    this.ownsClient = client === undefined;
    this.client =
      client ?? new SQSClient(awsClientSettings(connection, connection.requestTimeout + fetchWait));
    this.requests = new AwsRequests('SQS', awsAddress(connection, 'sqs'), connection, this.logger);
    this.deletes = new EntryBatcher((entries) => this.deleteBatch(entries));
    this.visibility = new EntryBatcher((changes) => this.visibilityBatch(changes));
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Fetched transactions not settled yet. */
  get unsettled(): number {
    return this.deliveries.size;
  }

  /**
   * Creates the queue and its dead-letter queue with the redrive policy (`create: true`), or
   * looks their URLs up (`create: false`). Fetch and dispatch call it on first use; call it
   * yourself to fail early. Rejects with `SqsQueueError` when a queue is missing (`create:
   * false`) or exists with other attributes.
   */
  declare(): Promise<void> {
    return this.queues().then(noop);
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return fetchObservable(
      'sqs',
      () => this.closed,
      (subscriber, signal) => this.fetchInto(subscriber, request.size, signal),
    );
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Promise<void> {
    const delivery = takeDelivery(this.deliveries, transaction);
    if (delivery === undefined) return notHeld(transaction);
    if (this.deliveries.size === 0) this.stopHeartbeat();
    if (this.closed) {
      return Promise.reject(
        new DeliveryLostError(
          `the connector closed before SQS message ${delivery.messageId} was settled: it was made visible again`,
        ),
      );
    }
    let settled: Promise<void>;
    switch (decision.type) {
      case 'ack':
        settled = this.deletes.add(delivery);
        // The last message held settled (the end of a batch): nothing else can join this delete.
        if (this.deliveries.size === 0) this.deletes.flushSoon();
        break;
      case 'release':
        settled = this.visibility.add({
          delivery,
          seconds: this.hiddenFor(transaction, delivery, decision.delay ?? 0),
        });
        break;
      case 'deadLetter':
        settled = this.deadLetter(delivery, decision.error);
        break;
    }
    return settled.catch((error: unknown) => {
      throw new DeliveryLostError(
        `could not ${decision.type} SQS message ${delivery.messageId} (${describeError(error)}): it becomes visible again after its visibility timeout and is redelivered`,
        { cause: error },
      );
    });
  }

  /**
   * Sends the batch as `SendMessageBatch`es of at most 10 messages and 256 KiB, all at once,
   * and resolves once SQS answered them all. A message the codec cannot encode, or that SQS
   * refuses, fails alone (in the report); a request that keeps failing fails its messages (on
   * a FIFO queue the requests go one after another, and the first that fails fails the rest of
   * the batch unsent, so a key's order holds). A batch none of whose requests got through
   * rejects (so the engine's retry sends it again).
   * `context.signal` stops what was not sent yet.
   */
  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closed) throw new ConnectorClosedError('sqs connector is closed');
    const signal = context?.signal;
    signal?.throwIfAborted();
    const { queue } = await this.queues(signal);
    const failed: DispatchFailure<P>[] = [];
    const chunks: { transactions: Transaction<P>[]; entries: SendMessageBatchRequestEntry[] }[] =
      [];
    let chunk: (typeof chunks)[number] | null = null;
    let bytes = 0;
    for (const transaction of transactions) {
      let entry: SendMessageBatchRequestEntry;
      try {
        const delaySeconds = this.delaySecondsOf(transaction);
        entry = sendEntry(transaction, '', this.codec, { fifo: this.fifo, delaySeconds });
      } catch (error) {
        failed.push({ transaction, error });
        continue;
      }
      const size = entrySize(entry);
      if (
        chunk === null ||
        chunk.entries.length >= maxBatchEntries ||
        bytes + size > maxBatchBytes
      ) {
        chunk = { transactions: [], entries: [] };
        chunks.push(chunk);
        bytes = 0;
      }
      entry.Id = String(chunk.entries.length);
      chunk.entries.push(entry);
      chunk.transactions.push(transaction);
      bytes += size;
    }
    const send = ({ entries }: (typeof chunks)[number]) =>
      this.requests.run(
        () => this.client.send(new SendMessageBatchCommand({ QueueUrl: queue, Entries: entries })),
        signal,
      );
    const results = this.fifo
      ? await inOrder(chunks, send)
      : await Promise.allSettled(chunks.map(send));
    let reached = false;
    results.forEach((result, i) => {
      const sent = chunks[i] as (typeof chunks)[number];
      if (result.status === 'rejected') {
        for (const transaction of sent.transactions)
          failed.push({ transaction, error: result.reason });
        return;
      }
      reached = true;
      const failures = failuresOf(result.value.Failed);
      sent.transactions.forEach((transaction, position) => {
        const error = failures.get(String(position));
        if (error !== undefined) failed.push({ transaction, error });
      });
    });
    const firstRejected = results.find((result) => result.status === 'rejected');
    if (!reached && firstRejected !== undefined && failed.length === transactions.length) {
      throw firstRejected.reason;
    }
    return { failed };
  }

  /**
   * The visibility timeout (s) that holds a released message back for `delay` ms: 0 without a
   * delay; else the delay in whole seconds (rounded up, so never early), cut to what is left of
   * the 12 h SQS allows from the receive (the transaction then comes back early; logged).
   */
  private hiddenFor(transaction: Transaction<P>, delivery: Delivery, delay: number): number {
    if (delay <= 0) return 0;
    const wanted = Math.ceil(delay / 1000);
    const left = maxVisibilitySeconds - Math.ceil((Date.now() - delivery.receivedAt) / 1000);
    if (wanted <= left) return wanted;
    this.logger.warn(
      `SQS: transaction ${transaction.id} was to be retried in ${wanted} s, but SQS hides a message at most 12 h from its receive: it comes back in ${left} s`,
    );
    return Math.max(0, left);
  }

  /**
   * The `DelaySeconds` of a transaction: its future `metadata.notBefore` (whole seconds,
   * rounded up) or the configured `delay`, whichever is later.
   *
   * @throws ScheduleError when `notBefore` is invalid, more than 15 min ahead, or set on a
   * FIFO queue.
   */
  private delaySecondsOf(transaction: Transaction<P>): number {
    const configured = this.config.delay / 1000;
    const notBefore = notBeforeOf(transaction);
    if (notBefore === undefined || notBefore <= Date.now()) return configured;
    const seconds = Math.ceil((notBefore - Date.now()) / 1000);
    const when = new Date(notBefore).toISOString();
    if (this.fifo) {
      throw new ScheduleError(
        `transaction ${transaction.id} has metadata.notBefore ${when}, but SQS FIFO queue ${this.destination} has no per-message delay; use a standard queue, or a connector that can hold it back (docs/scheduling.md)`,
      );
    }
    if (seconds > maxDelaySeconds) {
      throw new ScheduleError(
        `transaction ${transaction.id} has metadata.notBefore ${when}, ${seconds} s ahead, but SQS delays a message at most ${maxDelaySeconds} s (15 min); dispatch it closer to its time, or to a connector that can hold it longer (PostgreSQL, Redis, NATS, RabbitMQ; docs/scheduling.md)`,
      );
    }
    return Math.max(configured, seconds);
  }

  /**
   * Messages waiting in the queue, as SQS estimates them (`ApproximateNumberOfMessages`: visible
   * ones; not those in flight or delayed).
   */
  count(): Observable<number> {
    return defer(async () => {
      const { queue } = await this.queues();
      const reply = await this.requests.run(() =>
        this.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: queue,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        ),
      );
      return Number(reply.Attributes?.ApproximateNumberOfMessages ?? 0);
    });
  }

  /** One `GetQueueAttributes` without retries: `connected`, or `unreachable` with the error. */
  health(): Observable<ConnectorHealth> {
    return probeHealth(
      () => this.closed,
      async () => {
        const { queue } = await this.queues(
          AbortSignal.timeout(this.config.connection.connectTimeout),
        );
        await this.client.send(
          new GetQueueAttributesCommand({ QueueUrl: queue, AttributeNames: ['QueueArn'] }),
        );
      },
    );
  }

  /**
   * Stops extending visibilities, sends the deletes and visibility changes still batched,
   * makes every unsettled message visible again (their later settle rejects with
   * `DeliveryLostError`) so other consumers get them at once, and destroys the connector's own
   * client. Takes about 2 s at most when SQS does not answer. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopHeartbeat();
    // The deliveries stay known, so that their settle rejects with DeliveryLostError.
    const held = [...this.deliveries.values()];
    const releases = held.map((delivery) =>
      this.visibility.add({ delivery, seconds: 0 }).catch(noop),
    );
    await waitAtMost(
      Promise.all([this.deletes.flush(), this.visibility.flush(), ...releases]),
      closeGrace,
    );
    this.requests.close(new ConnectorClosedError('sqs connector closed'));
    if (this.ownsClient) this.client.destroy();
  }

  private async fetchInto(
    subscriber: Subscriber<Transaction<P>>,
    size: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { queue } = await this.queues(signal);
    let remaining = size;
    let wait = this.config.fetchWait / 1000;
    while (remaining > 0 && !signal.aborted) {
      const wanted = Math.min(remaining, maxBatchEntries);
      const reply = await this.requests.run(
        () =>
          this.client.send(
            new ReceiveMessageCommand({
              QueueUrl: queue,
              MaxNumberOfMessages: wanted,
              WaitTimeSeconds: wait,
              VisibilityTimeout: this.config.visibilityTimeout / 1000,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: [
                'ApproximateReceiveCount',
                'SentTimestamp',
                'MessageGroupId',
              ],
            }),
            { abortSignal: signal },
          ),
        signal,
      );
      const messages = reply.Messages ?? [];
      this.emit(subscriber, messages, queue, signal);
      if (messages.length < wanted) return;
      remaining -= messages.length;
      wait = 0;
    }
  }

  /** Emits messages as transactions; what the subscriber no longer wants is made visible again. */
  private emit(
    subscriber: Subscriber<Transaction<P>>,
    messages: readonly Message[],
    queue: string,
    signal: AbortSignal,
  ): void {
    for (const message of messages) {
      const delivery = deliveryOf(message);
      if (delivery === undefined) continue;
      if (signal.aborted || subscriber.closed || this.closed) {
        this.visibility.add({ delivery, seconds: 0 }).catch(noop);
        continue;
      }
      const transaction = deliveryTransaction(delivery, message, queue, this.codec);
      this.deliveries.set(transaction, delivery);
      this.heartbeat ??= this.startHeartbeat();
      subscriber.next(transaction);
    }
  }

  /** Sends the message to the dead-letter queue with the error, then deletes it here. */
  private async deadLetter(delivery: Delivery, error: TransactionError): Promise<void> {
    const { queue, deadLetter } = await this.queues();
    await this.requests.run(() =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: deadLetter,
          MessageBody: delivery.body,
          MessageAttributes: deadLetterAttributes(delivery, error, queue),
          ...(this.fifo
            ? {
                MessageGroupId: delivery.groupId ?? delivery.messageId,
                MessageDeduplicationId: delivery.messageId,
              }
            : {}),
        }),
      ),
    );
    await this.deletes.add(delivery);
  }

  /** Extends the visibility of every message in flight by `visibilityTimeout`, every third of it. */
  private startHeartbeat(): ReturnType<typeof setInterval> {
    const seconds = this.config.visibilityTimeout / 1000;
    const timer = setInterval(() => {
      if (this.extending || this.deliveries.size === 0) return;
      this.extending = true;
      const extensions = [...this.deliveries.values()].map((delivery) =>
        this.visibility.add({ delivery, seconds }).catch((error: unknown) => {
          this.logger.debug(
            `SQS: could not extend the visibility of message ${delivery.messageId}: ${describeError(error)}`,
          );
        }),
      );
      void Promise.all(extensions).finally(() => {
        this.extending = false;
      });
    }, this.config.visibilityTimeout / 3);
    timer.unref();
    return timer;
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async deleteBatch(deliveries: readonly Delivery[]): Promise<BatchFailures> {
    const { queue } = await this.queues();
    const reply = await this.requests.run(() =>
      this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue,
          Entries: deliveries.map((delivery, i) => ({
            Id: String(i),
            ReceiptHandle: delivery.receiptHandle,
          })),
        }),
      ),
    );
    return failuresOf(reply.Failed);
  }

  private async visibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchFailures> {
    const { queue } = await this.queues();
    const reply = await this.requests.run(() =>
      this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue,
          Entries: changes.map(({ delivery, seconds }, i) => ({
            Id: String(i),
            ReceiptHandle: delivery.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      ),
    );
    return failuresOf(reply.Failed);
  }

  /** The queue URLs: created or looked up once (again after a failure). */
  private queues(signal?: AbortSignal): Promise<QueueUrls> {
    this.queueUrls ??= this.resolveQueues().catch((error: unknown) => {
      this.queueUrls = null;
      throw error;
    });
    if (signal === undefined) return this.queueUrls;
    const urls = this.queueUrls;
    return new Promise<QueueUrls>((resolve, reject) => {
      const aborted = (): void => reject(signal.reason as Error);
      if (signal.aborted) {
        aborted();
        return;
      }
      signal.addEventListener('abort', aborted, { once: true });
      urls.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
    });
  }

  private async resolveQueues(): Promise<QueueUrls> {
    const { queue, create } = this.config;
    const deadLetterName = this.config.deadLetterQueue ?? defaultDeadLetterQueue(queue);
    if (!create) {
      return {
        queue: /^https?:\/\//.test(queue) ? queue : await this.lookUp(queue),
        deadLetter: /^https?:\/\//.test(deadLetterName)
          ? deadLetterName
          : await this.lookUp(deadLetterName),
      };
    }
    const fifo: Record<string, string> = this.fifo ? { FifoQueue: 'true' } : {};
    const deadLetter = await this.createQueue(queueNameOf(deadLetterName), fifo);
    const arn = await this.requests.run(() =>
      this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: deadLetter, AttributeNames: ['QueueArn'] }),
      ),
    );
    const redrive = JSON.stringify({
      deadLetterTargetArn: arn.Attributes?.QueueArn,
      maxReceiveCount: String(this.config.maxReceiveCount),
    });
    const main = await this.createQueue(this.destination, {
      ...fifo,
      RedrivePolicy: redrive,
    });
    return { queue: main, deadLetter };
  }

  private async createQueue(name: string, attributes: Record<string, string>): Promise<string> {
    try {
      const reply = await this.requests.run(() =>
        this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })),
      );
      if (reply.QueueUrl === undefined)
        throw new SqsQueueError(`SQS returned no URL for queue ${name}`);
      return reply.QueueUrl;
    } catch (error) {
      if (
        awsErrorName(error).startsWith('QueueAlreadyExists') ||
        awsErrorName(error) === 'QueueNameExists'
      ) {
        throw new SqsQueueError(
          `SQS queue ${name} exists with other attributes than this connector sets (${Object.keys(attributes).join(', ')}): change the config to match, set create: false, or delete the queue`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  private async lookUp(name: string): Promise<string> {
    try {
      const reply = await this.requests.run(() =>
        this.client.send(new GetQueueUrlCommand({ QueueName: name })),
      );
      if (reply.QueueUrl === undefined)
        throw new SqsQueueError(`SQS returned no URL for queue ${name}`);
      return reply.QueueUrl;
    } catch (error) {
      if (
        awsErrorName(error).includes('NonExistentQueue') ||
        awsErrorName(error) === 'QueueDoesNotExist'
      ) {
        throw new SqsQueueError(
          `SQS queue ${name} does not exist: create it, or set create: true so the connector does`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
