import { CliUsageError } from './cli-errors.js';
import type { ProgressStream } from './progress-reporter.js';

/** What a CLI command reads and writes: its output streams and working directory. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Module paths and `new <dir>` are resolved against it. */
  readonly cwd: string;
}

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

/** The flags a command accepts: `string` flags take a value, `boolean` flags none. */
export type FlagSpec = Readonly<Record<string, 'string' | 'boolean'>>;

/** A command's arguments split into positionals and flags. */
export interface ParsedArguments {
  readonly positionals: readonly string[];
  readonly strings: Readonly<Record<string, string>>;
  readonly booleans: ReadonlySet<string>;
}

/**
 * Splits `args` into positionals and the flags of `spec` (`--name value` or `--name=value`;
 * `--` ends the flags). `--help` is always accepted.
 *
 * @throws CliUsageError on an unknown flag, a missing value, or a repeated flag.
 */
export function parseArguments(
  command: string,
  args: readonly string[],
  spec: FlagSpec,
): ParsedArguments {
  const positionals: string[] = [];
  const strings: Record<string, string> = {};
  const booleans = new Set<string>();
  const allFlags: FlagSpec = { help: 'boolean', ...spec };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--') {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg)) {
        throw new CliUsageError(`unknown flag "${arg}"`, command);
      }
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const kind = allFlags[name];
    if (kind === undefined) throw new CliUsageError(`unknown flag "--${name}"`, command);
    if (strings[name] !== undefined || booleans.has(name)) {
      throw new CliUsageError(`flag "--${name}" given twice`, command);
    }
    if (kind === 'boolean') {
      if (equals !== -1) throw new CliUsageError(`flag "--${name}" takes no value`, command);
      booleans.add(name);
      continue;
    }
    const value = equals === -1 ? args[++index] : arg.slice(equals + 1);
    if (value === undefined) throw new CliUsageError(`flag "--${name}" needs a value`, command);
    strings[name] = value;
  }
  return { positionals, strings, booleans };
}
