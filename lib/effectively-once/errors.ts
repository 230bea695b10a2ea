import { ErgonError } from '../core/errors.js';

/**
 * Effectively-once processing is set up in a way that cannot hold its promise: a connector
 * other than the PostgreSQL queue without an inbox, `ctx.outbox` used without an outbox, a
 * handler shape it does not support. The message says what to change.
 */
export class EffectivelyOnceError extends ErgonError {}

/**
 * A handler used `ctx.db` or `ctx.outbox` after its attempt ended (it returned, threw, timed
 * out or was cancelled): the attempt's writes were already released or rolled back, so a
 * late write would land in the next attempt's transaction. Finish every query before the
 * handler returns, and stop on `ctx.signal`.
 */
export class AttemptEndedError extends ErgonError {}
