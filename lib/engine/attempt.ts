import log from 'loglevel';
import { Observable } from 'rxjs';
import { CancellationError } from '../core/errors.js';
import type { Eventually } from '../core/connector.js';
import { retryPolicy, type RetryPolicyInput } from '../policy/retry-policy.js';
import { EngineClock } from './internal/engine-clock.js';
import type { EngineOptions } from './engine-options.js';
import type { AttemptInfo } from './handler-context.js';
import { StageRun } from './internal/stage-run.js';
import { AttemptTelemetry } from './internal/instrumentation/stage-telemetry.js';

const scope = { services: undefined, logger: log.getLogger('ergon.attempt') };

/**
 * Runs `fn` under a retry policy and emits its result once: the primitive behind every
 * lifecycle stage, for services and connectors to reuse. Cold: each subscription starts
 * afresh (so `fn` is called again on resubscribe, unlike `from(promise)`).
 *
 * - `maxAttempts` counts every try, the first included.
 * - `timeout` is per attempt and really cancels: the attempt's `signal` aborts and an
 *   Observable result is unsubscribed; the attempt fails with `AttemptTimeoutError`.
 * - Between attempts it waits `backoffDelay(retry, k)` on a `timer` (never after the last),
 *   so `TestScheduler.run` controls it.
 * - A `NonRetryableError` stops at once. After the last attempt the last error is emitted.
 * - Unsubscribing aborts the running attempt and any backoff.
 *
 * `fn` may return a value, a Promise or an Observable (its last value counts).
 *
 * With a tracer provider registered, each attempt is a span, as a lifecycle stage's are:
 * `<options.name> attempt` (`attempt` without a name), attribute `ergon.attempt`, ERROR with
 * the exception when the attempt failed, a child of the context active where the Observable
 * is subscribed, and active while `fn` runs (so its own spans and logs hang under it).
 * `options.traces: false` leaves them out.
 *
 * ```
 * fn:       #  (fails)      #  (fails)       a|
 * backoff:   --10ms--        --20ms--
 * result:   -----------------------------------(a|)   maxAttempts 3, backoff 10, multiplier 2
 * ```
 *
 * @example
 * ```ts
 * const body$ = attempt(
 *   ({ signal }) => fetch(url, { signal }).then((response) => response.json()),
 *   { maxAttempts: 4, timeout: '2s', backoff: 100, backoffCap: 1000 },
 * );
 * ```
 */
export function attempt<T>(
  fn: (info: AttemptInfo) => Eventually<T>,
  retry?: RetryPolicyInput,
  options: EngineOptions = {},
): Observable<T> {
  const policy = retryPolicy(retry);
  return new Observable<T>((subscriber) => {
    const clock = new EngineClock(options.scheduler);
    const run = new StageRun<T>(
      clock,
      policy,
      'attempt',
      scope,
      {
        invoke: (context) => fn(context),
        succeeded: (_run, value) => {
          subscriber.next(value as T);
          subscriber.complete();
        },
        failed: (_run, error) => subscriber.error(error),
      },
      AttemptTelemetry.start(options.name, options.traces ?? true),
    );
    run.start();
    return () => {
      run.cancel(new CancellationError('unsubscribe'));
      clock.dispose();
    };
  });
}
