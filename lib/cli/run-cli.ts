import { ConnectorContractError, PolicyError } from '../core/errors.js';
import { describeError } from '../core/renderers.js';
import { CliUsageError, TaskModuleError } from './cli-errors.js';
import type { CliIo, Command } from './command.js';
import { dlqCommand } from './commands/dlq-command.js';
import { listCommand } from './commands/list-command.js';
import { newCommand } from './commands/new-command.js';
import { processByIdCommand, processCommand } from './commands/process-command.js';
import { runCommand } from './commands/run-command.js';

/** Every `ergon` command, in `--help` order. */
export const commands: readonly Command[] = [
  runCommand,
  listCommand,
  processCommand,
  processByIdCommand,
  dlqCommand,
  newCommand,
];

function generalUsage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: ergon <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "ergon <command> --help" for a command's options.`;
}

/** Exit code for an error a command threw: 2 for usage and configuration errors, else 1. */
function errorExitCode(error: unknown): number {
  return error instanceof CliUsageError ||
    error instanceof TaskModuleError ||
    error instanceof PolicyError ||
    error instanceof ConnectorContractError
    ? 2
    : 1;
}

/**
 * Runs the `ergon` command line `args` (without `node` and the script) and resolves with the
 * exit code: the command's, 2 for a usage or configuration error, 1 for any other failure.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${generalUsage()}\n`);
    return 0;
  }
  if (name === undefined) {
    io.stderr.write(`${generalUsage()}\n`);
    return 2;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    const what = name.startsWith('-') ? 'flag' : 'command';
    io.stderr.write(`ergon: unknown ${what} "${name}"\n\n${generalUsage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.execute(rest, io);
  } catch (error) {
    io.stderr.write(`ergon ${command.name}: ${describeError(error)}\n`);
    if (error instanceof CliUsageError) {
      io.stderr.write(`Run "ergon ${command.name} --help" for usage.\n`);
    } else if (error instanceof Error && error.cause !== undefined) {
      io.stderr.write(`  caused by ${describeError(error.cause)}\n`);
    }
    return errorExitCode(error);
  }
}
