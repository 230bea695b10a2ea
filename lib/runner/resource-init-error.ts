import { ErgonError } from '../core/errors.js';

/**
 * A connector or service of a task could not be created: its factory or its `init()` threw.
 * `runTask` closes what it created before, in reverse order, never runs the task and exits
 * with code 1.
 */
export class ResourceInitError extends ErgonError {
  /** `connector` or `service`. */
  readonly kind: string;
  /** The resource's name in the task configuration. */
  readonly resource: string;
  constructor(kind: string, resource: string, cause: unknown) {
    super(`${kind} "${resource}" failed to start`, { cause });
    this.kind = kind;
    this.resource = resource;
  }
}

/**
 * The run was stopped (SIGTERM/SIGINT) while a connector or service was still starting: its
 * factory or `init()` got the abort through its `signal`, and either gave up (`cause`) or did
 * not return before the stop's deadline (`abandoned`). `runTask` closes what it created, never
 * runs the task, and resolves 143/130 as for any stop.
 */
export class StartupCancelledError extends ErgonError {
  /** `connector` or `service`. */
  readonly kind: string;
  /** The resource's name in the task configuration. */
  readonly resource: string;
  /** `factory` or `init()`. */
  readonly step: string;
  /** The step did not return in time and was left behind. */
  readonly abandoned: boolean;
  constructor(kind: string, resource: string, step: string, abandoned: boolean, cause?: unknown) {
    super(
      abandoned
        ? `${kind} "${resource}": its ${step} had not returned when the stop's deadline passed; abandoned`
        : `${kind} "${resource}": its ${step} gave up after the stop request`,
      { cause },
    );
    this.kind = kind;
    this.resource = resource;
    this.step = step;
    this.abandoned = abandoned;
  }
}
