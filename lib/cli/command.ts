import type { CliIo } from './cli-io.js';

/** One `ergon` command. */
export interface Command {
  /** What follows `ergon` on the command line. */
  readonly name: string;
  /** One line for `ergon --help`. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  /** Runs the command; resolves with the process exit code. */
  execute(args: readonly string[], io: CliIo): Promise<number>;
}
