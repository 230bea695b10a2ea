import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { StoredMsg } from '@nats-io/jetstream';
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
import type { NatsService } from './nats-service.js';

/** The header that carries a redriven message's transaction id (its `Nats-Msg-Id` cannot). */
export const transactionIdHeader = 'Ergon-Transaction-Id';

/** A dead letter and the sequence of the dead-letter stream message that holds it. */
interface StoredLetter<P> {
  readonly seq: number;
  readonly message: StoredMsg;
  readonly letter: DeadLetter<P>;
}

function first(source: MsgHdrs | undefined, name: string): string | undefined {
  const value = source?.get(name);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The dead-letter stream of a {@link NatsConnector} (`<stream>_DEAD`) as {@link DeadLetters},
 * read message by message with `STREAM.MSG.GET`. `redrive` publishes each selected message to
 * the subject it was consumed from (`Ergon-Source-Subject`, into `Ergon-Source-Stream`) with
 * its body and headers (trace context included) minus the `Ergon-*` dead-letter headers, its
 * transaction id in `Ergon-Transaction-Id` and `Nats-Msg-Id: redrive:<dead stream>:<seq>`,
 * waits for the PubAck, then deletes it from the dead-letter stream. Two redrives of the same
 * dead letter publish the same `Nats-Msg-Id`, which the stream's duplicate window
 * (`duplicateWindow`, 2 minutes by default) stores once: concurrent redrives never send one
 * twice.
 *
 * @example
 * ```ts
 * const { redriven } = await connector.deadLetters().redrive({ ids: ['order-42'] });
 * ```
 */
export class NatsDeadLetters<P> implements DeadLetters<P> {
  constructor(
    private readonly service: NatsService,
    private readonly deadStream: string,
    private readonly codec: PayloadCodec<P>,
    private readonly requestTimeout: number,
  ) {}

  async list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]> {
    return (await this.select(deadLetterQuery(query))).map((stored) => stored.letter);
  }

  async show(id: string): Promise<DeadLetter<P> | undefined> {
    return (await this.select({ ids: [id] })).at(-1)?.letter;
  }

  async redrive(query?: DeadLetterQuery): Promise<RedriveReport> {
    const selected = await this.select(deadLetterQuery(query));
    const js = await this.service.jetstream();
    const jsm = await this.service.jetstreamManager();
    const redriven: string[] = [];
    const skipped: string[] = [];
    for (const { seq, message, letter } of selected) {
      const subject = first(message.header, 'Ergon-Source-Subject');
      const stream = first(message.header, 'Ergon-Source-Stream');
      if (subject === undefined || stream === undefined) {
        skipped.push(letter.id);
        continue;
      }
      const outbound = headers();
      for (const [name, values] of message.header) {
        const lower = name.toLowerCase();
        if (lower.startsWith('ergon-') || lower.startsWith('nats-')) continue;
        for (const value of values) outbound.append(name, value);
      }
      outbound.set(transactionIdHeader, letter.id);
      outbound.set(redriveOfKey, letter.location);
      const ack = await js.publish(subject, message.data, {
        msgID: `redrive:${this.deadStream}:${seq}`,
        headers: outbound,
        timeout: this.requestTimeout,
        expect: { streamName: stream },
      });
      await jsm.streams.deleteMessage(this.deadStream, seq, false).catch(() => false);
      (ack.duplicate ? skipped : redriven).push(letter.id);
    }
    return { redriven, skipped };
  }

  async purge(query?: DeadLetterQuery): Promise<PurgeReport> {
    const selected = await this.select(deadLetterQuery(query));
    const jsm = await this.service.jetstreamManager();
    const purged: string[] = [];
    for (const { seq, letter } of selected) {
      if (await jsm.streams.deleteMessage(this.deadStream, seq, false).catch(() => false)) {
        purged.push(letter.id);
      }
    }
    return { purged };
  }

  /** The dead letters `query` selects, oldest first. */
  private async select(query: DeadLetterQuery): Promise<StoredLetter<P>[]> {
    const jsm = await this.service.jetstreamManager();
    const selected: StoredLetter<P>[] = [];
    let info;
    try {
      info = await jsm.streams.info(this.deadStream);
    } catch (error) {
      // Nothing was ever dead-lettered (the stream is made by the first fetch).
      if (/stream not found/i.test(String(error))) return selected;
      throw error;
    }
    const { state } = info;
    if (state.messages === 0) return selected;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(this.deadStream, { seq }).catch(() => null);
      if (message === null) continue;
      const letter = this.letter(message);
      if (!deadLetterMatches(letter, query)) continue;
      selected.push({ seq, message, letter });
      if (query.limit !== undefined && selected.length >= query.limit) break;
    }
    return selected;
  }

  private letter(message: StoredMsg): DeadLetter<P> {
    const header = message.header;
    let payload: P;
    try {
      payload = this.codec.decode(message.data);
    } catch {
      payload = message.data as P;
    }
    const stage = first(header, 'Ergon-Error-Stage');
    const category = first(header, 'Ergon-Error-Category');
    const traceparent = first(header, 'traceparent');
    const at = Date.parse(first(header, 'Ergon-Dead-Lettered-At') ?? '');
    return Object.freeze({
      id: first(header, transactionIdHeader) ?? `${this.deadStream}:${message.seq}`,
      payload,
      error: first(header, 'Ergon-Error') ?? '',
      ...(stage === undefined ? {} : { stage }),
      ...(category === undefined ? {} : { category }),
      reason:
        first(header, 'Ergon-Error-Type') === 'MaxDeliveriesExceeded' ? 'maxDeliveries' : 'failed',
      deadLetteredAt: Number.isNaN(at) ? message.time : new Date(at),
      deliveryCount: Number(first(header, 'Ergon-Delivery-Count') ?? 0),
      ...(traceparent === undefined ? {} : { traceparent }),
      location: `${this.deadStream}#${message.seq}`,
    });
  }
}
