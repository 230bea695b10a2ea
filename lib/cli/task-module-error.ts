import { ErgonError } from '../core/errors.js';

/**
 * A task module could not be used: it failed to import, the named export is missing, or it is
 * not what the command needs (a `defineTask` definition, a consumer task, a policy). The CLI
 * prints the message and exits with code 2.
 */
export class TaskModuleError extends ErgonError {
  /** The module as given on the command line. */
  readonly modulePath: string;
  constructor(modulePath: string, message: string, cause?: unknown) {
    super(`${modulePath}: ${message}`, cause === undefined ? undefined : { cause });
    this.modulePath = modulePath;
  }
}
