import { ErgonError } from '../core/errors.js';

/**
 * The command line was wrong: an unknown command or flag, a missing argument, a bad value.
 * The CLI prints the message and the command's usage and exits with code 2.
 */
export class CliUsageError extends ErgonError {
  /** The command whose usage to show, when known. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

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
