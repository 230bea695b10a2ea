import { describeError } from '../core/describe-error.js';
import type { Outcome } from '../core/outcome.js';

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

/** Exit code of `ergon process`: 0 for `success` and `exception`, 1 otherwise. */
export function outcomeExitCode(outcome: Outcome): number {
  return outcome.status === 'success' || outcome.status === 'exception' ? 0 : 1;
}
