import { count, lastValueFrom, tap, type Observable } from 'rxjs';
import type { Outcome } from 'ergon-rx';

/**
 * How many outcomes a benchmark run emitted; rejects at the first one that is not a success
 * (a run whose transactions fail measures something else than the one it claims to).
 */
export function successes(outcomes$: Observable<Outcome>): Promise<number> {
  return lastValueFrom(
    outcomes$.pipe(
      tap((outcome) => {
        if (outcome.status !== 'success') throw new Error(`outcome ${outcome.status}`);
      }),
      count(),
    ),
  );
}
