import { describeError } from '../core/renderers.js';
import { ErgonError } from '../core/errors.js';

/**
 * How an error got past every handler: a rejected promise nobody awaited
 * (`unhandledRejection`), or an exception thrown where no caller could catch it, such as a
 * `setTimeout` callback (`uncaughtException`).
 */
export type EscapeRoute = 'unhandledRejection' | 'uncaughtException';

/**
 * An error that escaped the task's code and the engine (the original is the `cause`).
 * `runTask` logs it, stops the run as a SIGTERM would (in-flight work drains within the
 * grace, unstarted work is released for redelivery) and exits with code 1.
 */
export class EscapedError extends ErgonError {
  readonly route: EscapeRoute;
  constructor(route: EscapeRoute, cause: unknown) {
    const how =
      route === 'unhandledRejection'
        ? 'a promise rejected and nothing handled it'
        : 'an exception was thrown outside any handler';
    super(`${how} (${route}): ${describeError(cause)}`, { cause });
    this.route = route;
  }
}
