import type { Channel, GetMessage, Options } from 'amqplib';
import {
  deadLetterMatches,
  deadLetterQuery,
  redriveOfKey,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from '../../core/dead-letters.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { RabbitmqPublishError } from './errors.js';
import { copyOptions } from './internal/dead-letter-message.js';
import { messageIdentity } from './internal/delivered-transaction.js';
import type { RabbitmqDeadLetterConfig } from './rabbitmq-connector-config.js';
import type { RabbitmqService } from './rabbitmq-service.js';

/** A dead letter and the message that holds it (delivered to this reader, not acked yet). */
interface HeldLetter<P> {
  readonly message: GetMessage;
  readonly letter: DeadLetter<P>;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** The headers a dead letter carries that a redriven message must not. */
const deadLetterHeader = /^x-ergon-/;

/**
 * The dead-letter queue of a {@link RabbitmqConnector} (`<queue>.dlq`) as {@link DeadLetters}.
 * Every operation reads the queue with `basic.get` on a channel of its own, keeping each
 * message unacknowledged while it works: messages it does not take go back to the queue when
 * the channel closes (in their place). `redrive` publishes each selected message to the queue
 * it was consumed from (`x-ergon-queue`, through the default exchange) with its message id,
 * body, properties and headers (trace context included) minus the `x-ergon-*` dead-letter
 * headers, waits for the broker's confirm, then acks it in the dead-letter queue. A message
 * held by one redrive is invisible to any other reader, so concurrent redrives never send one
 * twice. Across a crash it is at least once: a redrive that dies after the broker confirmed a
 * copy and before its ack reached the broker leaves that dead letter in the queue, and the
 * next redrive sends it again — both copies with the same transaction id and
 * `ergon-redrive-of` (`<dead-letter queue>#<id>@<dead-lettered at>`, one per dead letter);
 * RabbitMQ has no atomic publish-and-ack across two queues (docs/dead-letters.md). `list`
 * holds the messages it reads for a moment too: a redrive running at that instant skips them.
 *
 * @example
 * ```ts
 * const { redriven } = await connector.deadLetters().redrive({ filter: 'timeout' });
 * ```
 */
export class RabbitmqDeadLetters<P> implements DeadLetters<P> {
  constructor(
    private readonly service: RabbitmqService,
    private readonly target: RabbitmqDeadLetterConfig,
    private readonly codec: PayloadCodec<P>,
  ) {}

  list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]> {
    const checked = deadLetterQuery(query);
    return this.holding(checked, (held) => Promise.resolve(held.map((entry) => entry.letter)));
  }

  async show(id: string): Promise<DeadLetter<P> | undefined> {
    return (await this.list({ ids: [id] })).at(-1);
  }

  async redrive(query?: DeadLetterQuery): Promise<RedriveReport> {
    const checked = deadLetterQuery(query);
    const model = await this.service.connection();
    const publisher = await model.createConfirmChannel();
    try {
      return await this.holding(checked, async (held, channel) => {
        const redriven: string[] = [];
        const skipped: string[] = [];
        for (const { message, letter } of held) {
          const headers: Record<string, unknown> = {};
          for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
            if (!deadLetterHeader.test(name)) headers[name] = value;
          }
          headers[redriveOfKey] = letter.location;
          const source = text(message.properties.headers?.['x-ergon-queue']);
          if (source === undefined) {
            skipped.push(letter.id);
            continue;
          }
          const options: Options.Publish = { ...copyOptions(message, headers), mandatory: true };
          await new Promise<void>((resolve, reject) => {
            publisher.publish('', source, message.content, options, (error: unknown) =>
              error === null || error === undefined
                ? resolve()
                : reject(
                    new RabbitmqPublishError(
                      'nacked',
                      `the broker did not take the redriven copy of ${letter.id} into queue "${source}"; it stays dead-lettered`,
                      { cause: error },
                    ),
                  ),
            );
          });
          channel.ack(message);
          redriven.push(letter.id);
        }
        return { redriven, skipped };
      });
    } finally {
      await publisher.close().catch(() => undefined);
    }
  }

  purge(query?: DeadLetterQuery): Promise<PurgeReport> {
    const checked = deadLetterQuery(query);
    return this.holding(checked, (held, channel) => {
      for (const { message } of held) channel.ack(message);
      return Promise.resolve({ purged: held.map((entry) => entry.letter.id) });
    });
  }

  /**
   * Gets every ready message of the dead-letter queue on a new channel, runs `work` with the
   * selected ones, then closes the channel: whatever `work` did not ack goes back.
   */
  private async holding<T>(
    query: DeadLetterQuery,
    work: (held: HeldLetter<P>[], channel: Channel) => Promise<T>,
  ): Promise<T> {
    const model = await this.service.connection();
    const channel = await model.createChannel();
    try {
      const held: HeldLetter<P>[] = [];
      for (;;) {
        if (query.limit !== undefined && held.length >= query.limit) break;
        const message = await channel.get(this.target.queue, { noAck: false });
        if (message === false) break;
        const letter = this.letter(message);
        if (deadLetterMatches(letter, query)) held.push({ message, letter });
      }
      return await work(held, channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private letter(message: GetMessage): DeadLetter<P> {
    const headers = message.properties.headers ?? {};
    let payload: P;
    try {
      payload = this.codec.decode(message.content);
    } catch {
      payload = message.content as P;
    }
    const id = messageIdentity(message);
    const error = text(headers['x-ergon-error']) ?? '';
    const stage = text(headers['x-ergon-error-stage']);
    const category = text(headers['x-ergon-error-category']);
    const traceparent = text(headers['traceparent']);
    const deadLetteredAt = text(headers['x-ergon-dead-lettered-at']);
    const at = Date.parse(deadLetteredAt ?? '');
    return Object.freeze({
      id,
      payload,
      error,
      ...(stage === undefined ? {} : { stage }),
      ...(category === undefined ? {} : { category }),
      reason: error.startsWith('MaxDeliveriesExceededError') ? 'maxDeliveries' : 'failed',
      deadLetteredAt: new Date(Number.isNaN(at) ? 0 : at),
      deliveryCount: Number(text(headers['x-ergon-delivery-count']) ?? 0),
      ...(traceparent === undefined ? {} : { traceparent }),
      // Names this dead letter (not just its transaction): what `ergon-redrive-of` carries.
      location: `${this.target.queue}#${id}${deadLetteredAt === undefined ? '' : `@${deadLetteredAt}`}`,
    });
  }
}
