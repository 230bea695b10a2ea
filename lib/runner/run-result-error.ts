import { describeValue } from '../core/renderers.js';
import { ErgonError } from '../core/errors.js';

/**
 * A task's `run` returned something `runTask` cannot wait for: neither an Observable nor a
 * Promise (for instance `42`, or `undefined` from a function that subscribed itself and
 * forgot to return). The run is treated as a configuration error: the exit hook and closes
 * still run, then `runTask` resolves exit code 2.
 *
 * @example
 * ```ts
 * log.error(new RunResultError(42).message);
 * ```
 */
export class RunResultError extends ErgonError {
  constructor(returned: unknown) {
    super(
      `the task's run returned ${returned === undefined ? 'undefined' : describeValue(returned)}, ` +
        'which the runner cannot wait for: return the Observable of outcomes (e.g. ' +
        '`run: (ctx) => consume(…)`, not subscribed) or a Promise that settles when the run is done',
    );
  }
}
