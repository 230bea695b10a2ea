import { describeError, printable } from '../core/renderers.js';
import type { Outcome } from '../core/outcome.js';
import { toSafeJson } from '../telemetry/logging/safe-json.js';

/** An outcome as the CLI prints it: status, transaction id, and the result or error text. */
export interface OutcomeJson {
  readonly status: Outcome['status'];
  readonly transactionId: string;
  readonly result?: unknown;
  readonly error?: string;
  readonly handled?: unknown;
  readonly reason?: string;
}

/** Renders an outcome for JSON output (errors as one-line descriptions). */
export function outcomeJson(outcome: Outcome): OutcomeJson {
  const transactionId = outcome.transaction.id;
  switch (outcome.status) {
    case 'success':
      return { status: outcome.status, transactionId, result: outcome.result };
    case 'exception':
      return {
        status: outcome.status,
        transactionId,
        error: describeError(outcome.error),
        handled: outcome.handled,
      };
    case 'failed':
    case 'timeout':
      return { status: outcome.status, transactionId, error: describeError(outcome.error) };
    case 'released':
      return { status: outcome.status, transactionId, reason: outcome.reason };
  }
}

/**
 * The JSON line `ergon process` prints for an outcome. Any result renders: bigints as
 * strings, errors described, a cycle as `"[Circular]"`; a result (or handled value) that cannot
 * be serialized at all (a throwing `toJSON` or getter) is printed as its string form.
 *
 * @example
 * ```ts
 * outcomeLine(successOf(tx, { total: 10n })); // '{"status":"success","transactionId":"…","result":{"total":"10"}}'
 * ```
 */
export function outcomeLine(outcome: Outcome): string {
  const json = outcomeJson(outcome);
  const line = toSafeJson(json);
  if (line !== undefined) return line;
  const unserializable = (value: unknown): string | undefined =>
    value === undefined ? undefined : `unserializable: ${printable(value)}`;
  return JSON.stringify({
    ...json,
    result: unserializable(json.result),
    handled: unserializable(json.handled),
  });
}

/** Exit code of `ergon process`: 0 for `success` and `exception`, 1 otherwise. */
export function outcomeExitCode(outcome: Outcome): number {
  return outcome.status === 'success' || outcome.status === 'exception' ? 0 : 1;
}
