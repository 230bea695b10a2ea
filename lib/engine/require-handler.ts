import { TaskDefinitionError } from './task-definition-error.js';

/** Checks one handler of a task definition: a function, or absent when optional. */
export function requireHandler(
  task: string,
  key: string,
  handler: unknown,
  required: boolean,
): void {
  if (handler === undefined && !required) return;
  if (typeof handler !== 'function') {
    throw new TaskDefinitionError(
      `task "${task}": ${key} must be a function, got ${handler === null ? 'null' : typeof handler}`,
    );
  }
}
