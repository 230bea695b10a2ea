import { randomUUID } from 'node:crypto';

let executionId: string | undefined;

/**
 * The id of this process's run, a random UUID drawn on first use and the same for the life of
 * the process. Exported as the resource attribute `ergon.task.execution.id`, so every span,
 * metric and log of one run can be found together.
 *
 * @example
 * ```ts
 * processExecutionId(); // '9b2c7f0e-…', the same on every call
 * ```
 */
export function processExecutionId(): string {
  executionId ??= randomUUID();
  return executionId;
}
