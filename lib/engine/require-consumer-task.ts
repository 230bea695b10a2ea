import type { ConsumerTask } from './consumer-task.js';
import { TaskDefinitionError } from './task-definition-error.js';

/** Fails fast, with a clear message, when something other than a `consumerTask()` is passed. */
export function requireConsumerTask(task: unknown, caller: string): void {
  if ((task as Partial<ConsumerTask> | null)?.kind !== 'consumer') {
    throw new TaskDefinitionError(
      `${caller} expects a task made by consumerTask({ process, … }), got ${
        task === null ? 'null' : typeof task
      }`,
    );
  }
}
