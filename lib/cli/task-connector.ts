import { describeError } from '../core/renderers.js';
import type { TaskDefinition } from '../runner/define-task.js';
import {
  closeTaskConnector,
  openTaskConnector,
  type TaskConnector,
} from '../runner/internal/standalone-connector.js';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './command.js';

/** The definition's connector `requested` (default: the first declared), checked. */
function connectorName(
  command: string,
  definition: TaskDefinition,
  requested: string | undefined,
): string {
  const names = Object.keys(definition.connectors);
  const name = requested ?? names[0];
  if (name === undefined) {
    throw new CliUsageError(`task "${definition.name}" declares no connectors`, command);
  }
  if (!names.includes(name)) {
    throw new CliUsageError(
      `task "${definition.name}" has no connector "${name}" (connectors: ${names.join(', ')})`,
      command,
    );
  }
  return name;
}

/**
 * Builds one connector of `definition` with its factory (as worker 0 of 1), awaits its
 * optional `init()`, runs `use` with it, then closes it (a failing close is reported on
 * stderr, not thrown).
 *
 * @throws CliUsageError when the definition has no such connector (or none).
 */
export async function withTaskConnector<T>(
  command: string,
  definition: TaskDefinition,
  requested: string | undefined,
  io: CliIo,
  use: (connector: TaskConnector, name: string) => Promise<T>,
): Promise<T> {
  const name = connectorName(command, definition, requested);
  const abort = new AbortController();
  const connector = await openTaskConnector(definition, name, abort.signal);
  try {
    return await use(connector, name);
  } finally {
    abort.abort();
    try {
      await closeTaskConnector(connector);
    } catch (error) {
      io.stderr.write(`ergon: connector "${name}" failed to close: ${describeError(error)}\n`);
    }
  }
}
