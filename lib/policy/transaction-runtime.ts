import * as t from 'io-ts';
import { type DurationInput, PositiveDuration } from './duration.js';
import { orNull } from './or-null.js';
import { strictStruct } from './strict-struct.js';
import { withDefault } from './with-default.js';

/** `transactionRuntime` of a consumer or producer policy. */
export interface TransactionRuntime {
  /** Budget in milliseconds for one transaction's handlers, or `null` for none. */
  readonly timeout: number | null;
  /**
   * After how many milliseconds a transaction still running is logged (once, at `warn`):
   * `null` for half its budget (the smallest of `timeout`, the main stage's
   * `retry.timeout × maxAttempts` and `loop.timeout`; no notice when none is set), `false`
   * for never.
   */
  readonly noticeAfter: number | false | null;
}

/** `transactionRuntime` as a policy accepts it. */
export interface TransactionRuntimeInput {
  /** Budget per transaction, > 0, or `null` for none (default 60000). */
  readonly timeout?: DurationInput | null;
  /** A positive duration, `false` (or `"off"`) for no notice, `null` for half the budget (default). */
  readonly noticeAfter?: DurationInput | false | null;
}

/** A positive duration, or `false` / `"off"` / `"false"` for no notice. */
const DurationOrOff = new t.Type<number | false, number | false, unknown>(
  'positive duration or false',
  (u): u is number | false => u === false || PositiveDuration.is(u),
  (u, c) => {
    if (u === false || (typeof u === 'string' && /^\s*(off|false)\s*$/i.test(u))) {
      return t.success(false);
    }
    const duration = PositiveDuration.validate(u, c);
    return duration._tag === 'Right' ? duration : t.failure(u, c);
  },
  t.identity,
);

/**
 * Codec of `transactionRuntime`: `timeout` a positive duration or `null`, default 60000 ms;
 * `noticeAfter` a positive duration, `false` or `null` (default `null`: half the budget).
 */
export const TransactionRuntimeCodec: t.Type<TransactionRuntime, TransactionRuntime, unknown> =
  strictStruct('TransactionRuntime', {
    timeout: withDefault(orNull(PositiveDuration), 60_000),
    noticeAfter: withDefault(orNull(DurationOrOff), null),
  });
