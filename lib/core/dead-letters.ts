import { PolicyError } from './errors.js';
import { describeValue } from './renderers.js';

/**
 * One dead-lettered transaction as a connector's {@link DeadLetters} reports it.
 *
 * @example
 * ```ts
 * const [first] = await connector.deadLetters().list({ limit: 1 });
 * console.log(first?.id, first?.error, first?.stage, first?.deliveryCount);
 * ```
 */
export interface DeadLetter<P = unknown> {
  /** The transaction id (what `show`, `redrive` and `purge` take). */
  readonly id: string;
  /** The payload as the connector decodes it (the raw text or bytes when it cannot). */
  readonly payload: P;
  /** Why it was dead-lettered, as the engine described the error. */
  readonly error: string;
  /** The lifecycle stage that failed (`process`, `success`, `exception`, `decode`), when known. */
  readonly stage?: string;
  /** The error's category (`business`, `system`, `timeout`), when known. */
  readonly category?: string;
  /**
   * `failed` (the lifecycle failed), `maxDeliveries` (delivered too often without a
   * settlement) or a connector's own reason (Redis: `trimmed`).
   */
  readonly reason: string;
  /** When it was dead-lettered. */
  readonly deadLetteredAt: Date;
  /** How many times it had been delivered when it was dead-lettered. */
  readonly deliveryCount: number;
  /** The W3C trace context of its last delivery, when it carried one. */
  readonly traceparent?: string;
  /** Where the connector keeps it (dead table row, dead-letter stream entry, sequence): for humans. */
  readonly location: string;
}

/** Which dead letters an operation applies to; every field narrows the selection. */
export interface DeadLetterQuery {
  /** Only these transaction ids. */
  readonly ids?: readonly string[];
  /** Only dead letters whose id, error, stage or payload text contain this (case-insensitive). */
  readonly filter?: string;
  /** Only dead letters dead-lettered at or after this time. */
  readonly since?: Date;
  /** At most this many (oldest first); all when absent. */
  readonly limit?: number;
}

/** What `redrive` did. */
export interface RedriveReport {
  /** The ids sent back to the source, each exactly once. */
  readonly redriven: readonly string[];
  /**
   * Ids selected but not sent back: another redrive took them first, or the source already
   * holds a transaction of that id (PostgreSQL); they stay dead-lettered unless taken.
   */
  readonly skipped: readonly string[];
}

/** What `purge` did. */
export interface PurgeReport {
  /** The ids removed for good. */
  readonly purged: readonly string[];
}

/**
 * The dead letters of one connector: look at them, send them back, or remove them. Every
 * method takes a {@link DeadLetterQuery}; an empty one selects every dead letter.
 *
 * `redrive` sends each selected transaction back to the connector's source with its id and
 * payload, its original `traceparent` (the redriven delivery continues the trace of the
 * one that failed; `ergon-redrive-of` names the old delivery), and a fresh delivery count.
 * Concurrent redrives (two operators, two processes) never send one dead letter twice: each
 * connector claims a dead letter before sending it (see docs/dead-letters.md).
 *
 * @example
 * ```ts
 * const dead = connector.deadLetters();
 * const failures = await dead.list({ filter: 'timeout', since: new Date(Date.now() - 3_600_000) });
 * const { redriven } = await dead.redrive({ ids: failures.map((letter) => letter.id) });
 * ```
 */
export interface DeadLetters<P = unknown> {
  /** The dead letters selected, oldest first. */
  list(query?: DeadLetterQuery): Promise<DeadLetter<P>[]>;
  /** The most recent dead letter of this transaction id, or `undefined`. */
  show(id: string): Promise<DeadLetter<P> | undefined>;
  /** Sends the selected dead letters back to the source (and removes them from the dead letters). */
  redrive(query?: DeadLetterQuery): Promise<RedriveReport>;
  /** Removes the selected dead letters for good. */
  purge(query?: DeadLetterQuery): Promise<PurgeReport>;
}

/** Header/metadata key a redriven transaction carries: where its dead letter was kept. */
export const redriveOfKey = 'ergon-redrive-of';

/** A checked copy of `query`: ids non-empty strings, a whole positive limit, a valid date. */
export function deadLetterQuery(query: DeadLetterQuery = {}): DeadLetterQuery {
  const issues: { path: string; expected: string; actual: string }[] = [];
  const { ids, filter, since, limit } = query;
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) {
    issues.push({
      path: 'ids',
      expected: 'an array of transaction ids',
      actual: describeValue(ids),
    });
  }
  if (filter !== undefined && typeof filter !== 'string') {
    issues.push({ path: 'filter', expected: 'a string', actual: describeValue(filter) });
  }
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime()))) {
    issues.push({ path: 'since', expected: 'a valid Date', actual: describeValue(since) });
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    issues.push({ path: 'limit', expected: 'a whole number ≥ 1', actual: describeValue(limit) });
  }
  if (issues.length > 0) throw new PolicyError('dead-letter query', issues);
  return query;
}

function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('utf8');
  try {
    return JSON.stringify(payload) ?? '';
  } catch {
    return '';
  }
}

/**
 * Whether `letter` is selected by `query`'s ids, filter and since (not its limit): what
 * connectors that read their dead letters one by one apply.
 */
export function deadLetterMatches(letter: DeadLetter, query: DeadLetterQuery): boolean {
  if (query.ids !== undefined && !query.ids.includes(letter.id)) return false;
  if (query.since !== undefined && letter.deadLetteredAt.getTime() < query.since.getTime()) {
    return false;
  }
  if (query.filter !== undefined && query.filter !== '') {
    const needle = query.filter.toLowerCase();
    const haystack = [letter.id, letter.error, letter.stage ?? '', payloadText(letter.payload)];
    if (!haystack.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}
