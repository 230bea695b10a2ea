import { ErgonError } from '../core/ergon-error.js';

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
