import type { Redis } from 'ioredis';
import {
  deadLetterMatches,
  deadLetterQuery,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from '../../core/dead-letters.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { purgeScript, redriveScript } from './internal/dead-letter-scripts.js';
import { rangeEntries, type StreamEntry } from './internal/stream-entry.js';
import { UnexpectedReplyError } from './errors.js';

/** Entries read per `XRANGE` page. */
const page = 500;

/** A dead letter and the entry that holds it. */
interface DeadEntry<P> {
  readonly entryId: string;
  readonly letter: DeadLetter<P>;
}

/**
 * The dead-letter stream of a {@link RedisConnector} (`<stream>:dead`) as {@link DeadLetters}.
 * A dead letter's time is its entry id's; its delivery count, error, category and stage are
 * the fields the connector wrote. `redrive` runs one Lua script per call: each selected entry
 * still in the dead-letter stream is added back to the source stream (same `id`, `body`, trace
 * fields and key, a new entry id, so the group delivers it as new) and deleted from the
 * dead-letter stream in the same atomic step, so concurrent redrives never send one twice.
 *
 * @example
 * ```ts
 * await connector.deadLetters().redrive({ since: new Date('2026-12-07T00:00:00Z') });
 * ```
 */
export class RedisDeadLetters<P> implements DeadLetters<P> {
  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly deadStream: string,
    private readonly codec: PayloadCodec<P>,
  ) {}

  async list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]> {
    return (await this.select(deadLetterQuery(query))).map((entry) => entry.letter);
  }

  async show(id: string): Promise<DeadLetter<P> | undefined> {
    const found = await this.select({ ids: [id] });
    return found.at(-1)?.letter;
  }

  async redrive(query?: DeadLetterQuery): Promise<RedriveReport> {
    const selected = await this.select(deadLetterQuery(query));
    if (selected.length === 0) return { redriven: [], skipped: [] };
    const reply = await redriveScript.run(
      this.redis,
      [this.stream, this.deadStream],
      selected.map((entry) => entry.entryId),
    );
    const done = new Set(idList('redrive script', reply));
    return {
      redriven: selected.filter((e) => done.has(e.entryId)).map((e) => e.letter.id),
      skipped: selected.filter((e) => !done.has(e.entryId)).map((e) => e.letter.id),
    };
  }

  async purge(query?: DeadLetterQuery): Promise<PurgeReport> {
    const selected = await this.select(deadLetterQuery(query));
    if (selected.length === 0) return { purged: [] };
    const reply = await purgeScript.run(
      this.redis,
      [this.deadStream],
      selected.map((entry) => entry.entryId),
    );
    const done = new Set(idList('purge script', reply));
    return { purged: selected.filter((e) => done.has(e.entryId)).map((e) => e.letter.id) };
  }

  /** The dead letters `query` selects, oldest first, read page by page from `since`. */
  private async select(query: DeadLetterQuery): Promise<DeadEntry<P>[]> {
    const selected: DeadEntry<P>[] = [];
    let start = query.since === undefined ? '-' : String(query.since.getTime());
    for (;;) {
      const entries = rangeEntries(
        await this.redis.callBuffer('XRANGE', [this.deadStream, start, '+', 'COUNT', page]),
      );
      for (const entry of entries) {
        const letter = this.letter(entry);
        if (!deadLetterMatches(letter, query)) continue;
        selected.push({ entryId: entry.entryId, letter });
        if (query.limit !== undefined && selected.length >= query.limit) return selected;
      }
      const last = entries.at(-1);
      if (entries.length < page || last === undefined) return selected;
      start = `(${last.entryId}`;
    }
  }

  private letter(entry: StreamEntry): DeadLetter<P> {
    const fields = new Map<string, Buffer>();
    for (let i = 0; i < entry.fields.length; i += 2) {
      const name = (entry.fields[i] as Buffer).toString('utf8');
      if (!fields.has(name)) fields.set(name, entry.fields[i + 1] as Buffer);
    }
    const text = (name: string): string | undefined => fields.get(name)?.toString('utf8');
    const body = fields.get('body');
    let payload: P;
    try {
      payload = body === undefined ? (undefined as P) : this.codec.decode(body);
    } catch {
      payload = body as P;
    }
    const stage = text('errorStage');
    const category = text('errorCategory');
    const traceparent = text('traceparent');
    const id = text('id');
    return Object.freeze({
      id: id === undefined || id === '' ? entry.entryId : id,
      payload,
      error: text('error') ?? '',
      ...(stage === undefined ? {} : { stage }),
      ...(category === undefined ? {} : { category }),
      reason: text('reason') ?? 'failed',
      deadLetteredAt: new Date(Number(entry.entryId.split('-')[0])),
      deliveryCount: Number(text('deliveries') ?? 0),
      ...(traceparent === undefined ? {} : { traceparent }),
      location: `${this.deadStream}#${entry.entryId}`,
    });
  }
}

function idList(what: string, reply: unknown): string[] {
  if (!Array.isArray(reply) || !reply.every((item) => Buffer.isBuffer(item))) {
    throw new UnexpectedReplyError(`unexpected reply to the ${what}`);
  }
  return reply.map((item: Buffer) => item.toString('latin1'));
}
