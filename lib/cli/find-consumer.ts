import type { ConsumerTask } from '../engine/task-definition.js';
import type { TaskDefinition } from '../runner/define-task.js';
import type { ModuleNamespace } from './load-task-module.js';
import { TaskModuleError } from './task-module-error.js';

function isConsumerTask(value: unknown): value is ConsumerTask {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'consumer' &&
    typeof (value as { process?: unknown }).process === 'function'
  );
}

/**
 * The consumer task of a definition, by the CLI's convention (a `defineTask` configuration
 * accepts no extra keys, so the consumer lives beside it in the module):
 *
 * 1. `export const consumers = { [definition.name]: consumerTask(…) }`, else
 * 2. `export const consumer = consumerTask(…)` (for a module with one task).
 *
 * @throws TaskModuleError when neither is a consumer task.
 */
export function findConsumer(
  modulePath: string,
  namespace: ModuleNamespace,
  definition: TaskDefinition,
): ConsumerTask {
  const consumers = namespace['consumers'];
  if (typeof consumers === 'object' && consumers !== null) {
    const named = (consumers as Readonly<Record<string, unknown>>)[definition.name];
    if (isConsumerTask(named)) return named;
  }
  const single = namespace['consumer'];
  if (isConsumerTask(single)) return single;
  throw new TaskModuleError(
    modulePath,
    `no consumer task for "${definition.name}": export consumers = { '${definition.name}': consumerTask(…) } or consumer = consumerTask(…)`,
  );
}
