import { DeliveryLostError, ErgonError } from '../../core/errors.js';

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

function replyErrorMatching(error: unknown, pattern: RegExp): boolean {
  return isReplyError(error) && pattern.test(error.message);
}

/**
 * Whether `error` is an error reply from the Redis server (a `ReplyError`), as opposed to a
 * connection problem (the connection closed, the connector was closed).
 */
function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** The stream or its consumer group does not exist (a restarted server without persistence). */
export function isNoGroup(error: unknown): boolean {
  return replyErrorMatching(error, /NOGROUP/);
}

/** `XGROUP CREATE` found the group already there. */
export function isBusyGroup(error: unknown): boolean {
  return replyErrorMatching(error, /^BUSYGROUP/);
}

/** `EVALSHA` of a script the server has not cached. */
export function isNoScript(error: unknown): boolean {
  return replyErrorMatching(error, /^NOSCRIPT/);
}

/**
 * What a settle of `entryIds` that failed with `error` rejects with: the server's own error
 * replies as they are, anything else (a closed connection or connector) as a
 * {@link DeliveryLostError}, since the entries then stay pending in the group and are claimed
 * again (redelivered).
 */
export function settleFailure(error: unknown, entryIds: readonly string[]): Error {
  if (isReplyError(error)) return error;
  const entries =
    entryIds.length === 1 ? `stream entry ${entryIds[0]}` : `${entryIds.length} stream entries`;
  return new DeliveryLostError(`could not settle ${entries}: left pending, to be claimed again`, {
    cause: error,
  });
}
