import { describeValue } from '../../core/renderers.js';
import { ErgonError } from '../../core/errors.js';

/**
 * One stream entry as read from Redis: its id, its raw field/value list and delivery count.
 *
 * @example
 * ```ts
 * const entry: StreamEntry = { entryId: '1-0', fields: [Buffer.from('body'), Buffer.from('{}')], deliveries: 1 };
 * ```
 */
export interface StreamEntry {
  /** The stream entry id, `<ms>-<seq>`. */
  readonly entryId: string;
  /** Field names and values, alternating, as bytes. */
  readonly fields: readonly Buffer[];
  /** How many times the group delivered it, this delivery included (0 when only looked up). */
  readonly deliveries: number;
}

/** What a claim returned: entries to deliver, where the next claim starts, how many it dead-lettered. */
export interface ClaimedEntries {
  readonly entries: StreamEntry[];
  readonly nextCursor: string;
  readonly deadLettered: number;
}

/**
 * Redis replied with something this connector does not understand (a proxy or server that is
 * not Redis, or a protocol it does not speak).
 *
 * @example
 * ```ts
 * connector.fetch(request).subscribe({ error: (e) => e instanceof UnexpectedReplyError && alert(e) });
 * ```
 */
export class UnexpectedReplyError extends ErgonError {}

/**
 * A stream entry was deleted from its stream (`XTRIM`, `MAXLEN`, `XDEL` by someone else) while
 * this consumer held it: it can no longer be delivered again, so a `release` wrote what the
 * connector held (id, body, headers) to the dead-letter stream with reason `trimmed` instead.
 * The settle that found it rejects with this error, naming the entry and where it went.
 *
 * @example
 * ```ts
 * connector.settle(tx, decision).catch((e) => e instanceof StreamEntryTrimmedError && alert(e.message));
 * ```
 */
export class StreamEntryTrimmedError extends ErgonError {}

function unexpected(command: string, reply: unknown): UnexpectedReplyError {
  return new UnexpectedReplyError(`unexpected reply to ${command}: ${describeValue(reply)}`);
}

function isBufferArray(u: unknown): u is Buffer[] {
  return Array.isArray(u) && u.every((item) => Buffer.isBuffer(item));
}

/** `[id, [field, value, …]]` of XRANGE/XREADGROUP; `null` fields (a deleted entry) yield `undefined`. */
function entryOf(command: string, item: unknown, deliveries: number): StreamEntry | undefined {
  if (!Array.isArray(item) || !Buffer.isBuffer(item[0])) throw unexpected(command, item);
  const fields: unknown = item[1];
  if (fields === null) return undefined;
  if (!isBufferArray(fields) || fields.length % 2 !== 0) throw unexpected(command, item);
  return { entryId: item[0].toString('latin1'), fields, deliveries };
}

/** Entries of an `XRANGE`/`XREVRANGE` reply (Buffer mode), with delivery count 0. */
export function rangeEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) throw unexpected('XRANGE', reply);
  const entries: StreamEntry[] = [];
  for (const item of reply) {
    const entry = entryOf('XRANGE', item, 0);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/**
 * Entries of an `XREADGROUP … STREAMS <stream> >` reply (Buffer mode, RESP2): `null` when the
 * block timed out, else `[[stream, [[id, fields], …]]]`. New entries are on their first delivery.
 */
export function readGroupEntries(reply: unknown): StreamEntry[] {
  if (reply === null) return [];
  if (!Array.isArray(reply)) throw unexpected('XREADGROUP', reply);
  const entries: StreamEntry[] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || !Array.isArray(stream[1])) throw unexpected('XREADGROUP', reply);
    for (const item of stream[1] as unknown[]) {
      const entry = entryOf('XREADGROUP', item, 1);
      if (entry !== undefined) entries.push(entry);
    }
  }
  return entries;
}

/** The reply of the claim script: `[cursor, [[id, fields, deliveries], …], deadLettered]`. */
export function claimedEntries(reply: unknown): ClaimedEntries {
  if (
    !Array.isArray(reply) ||
    !Buffer.isBuffer(reply[0]) ||
    !Array.isArray(reply[1]) ||
    typeof reply[2] !== 'number'
  ) {
    throw unexpected('XAUTOCLAIM (claim script)', reply);
  }
  const entries: StreamEntry[] = [];
  for (const item of reply[1] as unknown[]) {
    const deliveries: unknown = Array.isArray(item) ? item[2] : undefined;
    if (typeof deliveries !== 'number') throw unexpected('XAUTOCLAIM (claim script)', item);
    const entry = entryOf('XAUTOCLAIM (claim script)', item, deliveries);
    if (entry !== undefined) entries.push(entry);
  }
  return { entries, nextCursor: reply[0].toString('latin1'), deadLettered: reply[2] };
}
