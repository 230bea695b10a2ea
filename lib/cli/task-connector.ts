import type { Connector } from '../core/connector.js';
import { describeError } from '../core/renderers.js';
import type { TaskDefinition } from '../runner/define-task.js';
import { awaitEventually } from '../core/connector.js';
import { getLogger } from '../telemetry/logging/get-logger.js';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './command.js';

/** A connector of a task definition as a CLI command builds it (`init` and `close` optional). */
export type TaskConnector = Connector & { init?: () => unknown; close?: () => unknown };

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
  const factory = definition.connectors[name] as (typeof definition.connectors)[string];
  const abort = new AbortController();
  const connector = (await factory({
    name: definition.name,
    workerId: 0,
    workers: 1,
    policies: definition.policies,
    logger: getLogger(definition.name),
    signal: abort.signal,
  })) as TaskConnector;
  try {
    if (typeof connector.init === 'function') await awaitEventually(connector.init());
    return await use(connector, name);
  } finally {
    abort.abort();
    try {
      if (typeof connector.close === 'function') await awaitEventually(connector.close());
    } catch (error) {
      io.stderr.write(`ergon: connector "${name}" failed to close: ${describeError(error)}\n`);
    }
  }
}
