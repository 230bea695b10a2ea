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
