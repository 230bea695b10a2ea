import { describeError } from './describe-error.js';
import type { DispatchFailure } from './dispatch-receipt.js';
import { ErgonError } from './ergon-error.js';

/** Some transactions handed to a dispatcher were not dispatched; `failures` says which and why. */
export class DispatchError<P = unknown> extends ErgonError {
  readonly failures: readonly DispatchFailure<P>[];

  constructor(failures: readonly DispatchFailure<P>[], total: number) {
    const first = failures[0];
    super(
      `${failures.length} of ${total} transactions were not dispatched` +
        (first === undefined ? '' : `; ${first.transaction.id}: ${describeError(first.error)}`),
      { cause: first?.error },
    );
    this.failures = failures;
  }
}
